// The Merkle module: pure, isomorphic (no node: imports) verification and tree maths for the
// Secure Audit Log. A browser can import it and re-check everything the gateway reports.
export { canonicalJson, canonicalEnvelope, normalizeEvent, setMember } from './canonical.js';
export { canonicalParsedJson } from './canonical-parsed.js';
export { hashEnvelope, hashEnvelopeBytes, hashPair, sha256HexOfString } from './hash.js';
export { bytesToHex, hexToBytesOrNull, digestFromHex, bytesEqual } from './hex.js';
export {
  parseMembershipProof,
  formatMembershipProof,
  parseConsistencyItem,
  formatConsistencyItem,
  formatConsistencyProof,
  type ProofStep,
  type ConsistencyItem,
} from './proof-format.js';
export {
  MemoryTree,
  consistencyProof,
  membershipPath,
  nodePath,
  siblingRanges,
  isPerfectRange,
  perfectNode,
  perfectBlocks,
  pathFitsNode,
  sidesMatch,
  subtreeRoot,
  treeRoot,
  splitPoint,
  expectedSides,
  nodeKey,
  type NodeId,
  type NodeSource,
  type SiblingRange,
} from './tree.js';
export { PASS, fail, none, type Verification, type VerificationStatus } from './result.js';
export { PairCache } from './pair-cache.js';
export { PathRootsMemo } from './path-memo.js';
export { overallVerdict, type Verdict, type VerdictOutcome } from './verdict.js';
export { pathRoots, verifyExtension, type ExtensionInput, type PathRoots, type PathRootsInput } from './extension.js';
export { foldPath, verifyConsistency, verifyEnvelopeHash, verifyMembership, type ConsistencyInput, type MembershipInput } from './verify.js';
export {
  parsePublicKey,
  parsePrivateKey,
  publicKeyPem,
  signEvent,
  verifyMessageSignature,
  verifySignature,
  type EventSignature,
  type SignatureInput,
} from './signature.js';
export {
  keepableRootRecord,
  rootSizesNeeded,
  verifyPage,
  type EventVerification,
  type PageEnvelope,
  type PageEvent,
  type PageRoots,
  type RootLike,
  type VerifyPageOptions,
} from './page.js';
