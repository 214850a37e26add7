// Verifies one page of search results, once, when the first event's `verification` is asked for:
// loads the published roots the page needs through the request's DataLoader, then runs
// src/merkle's verifyPage over the whole page so work shared between events is done once.
import type { PublishedRoot, SearchEvent, UnpublishedRoot } from '../audit-client/wire.js';
import { verifySignatureNative } from '../crypto/native-ed25519.js';
import { rootSizesNeeded, verifyPage, type EventVerification, type PageEvent, type RootLike } from '../merkle/index.js';
import type { GraphQLContext } from './context.js';

export class PageVerifier {
  private result: Promise<EventVerification[]> | undefined;

  constructor(
    readonly events: readonly SearchEvent[],
    readonly root: PublishedRoot | undefined,
    readonly unpublishedRoot: UnpublishedRoot | undefined,
    private readonly ctx: GraphQLContext,
  ) {}

  verification(index: number): Promise<EventVerification> {
    this.result ??= this.verifyAll();
    return this.result.then((all) => all[index]!);
  }

  private async verifyAll(): Promise<EventVerification[]> {
    const pageEvents = this.events as unknown as PageEvent[];
    const sizes = rootSizesNeeded(pageEvents);
    const loaded = await this.ctx.loaders.publishedRoot.loadMany(sizes);
    const bySize = new Map<number, RootLike>();
    loaded.forEach((root, i) => {
      if (root && !(root instanceof Error)) bySize.set(sizes[i]!, root);
    });
    return verifyPage(
      pageEvents,
      {
        ...(this.root ? { root: this.root } : {}),
        ...(this.unpublishedRoot ? { unpublished_root: this.unpublishedRoot } : {}),
      },
      {
        publishedRoot: (size) => bySize.get(size),
        oneEventPerLeaf: this.ctx.upstream.oneEventPerLeaf,
        verifySignature: verifySignatureNative,
      },
    );
  }
}
