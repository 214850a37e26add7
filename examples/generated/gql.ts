/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment AuditEventFields on AuditEvent {\n  id\n  hash\n  receivedAt\n  timestamp\n  actor\n  action\n  target\n  status\n  source\n  message\n  old\n  new\n  tenantId\n  published\n  leafIndex\n  verification {\n    hash\n    membership\n    consistency\n    signature\n    witness\n    verdict\n    verdictReason\n    failures\n    verified\n  }\n}\n\nfragment AuditEventPage on AuditEventConnection {\n  totalCount\n  resultId\n  expiresAt\n  edges {\n    cursor\n    node {\n      ...AuditEventFields\n    }\n  }\n  pageInfo {\n    hasNextPage\n    hasPreviousPage\n    startCursor\n    endCursor\n  }\n  root {\n    treeName\n    size\n    rootHash\n    consistency\n  }\n  unpublishedRoot {\n    treeName\n    size\n    rootHash\n  }\n}": typeof types.AuditEventFieldsFragmentDoc,
    "mutation LogEvent($event: AuditEventInput!, $options: LogOptions = {verify: true}) {\n  log(event: $event, options: $options) {\n    ... on LogResult {\n      hash\n      receivedAt\n      unpublishedRoot\n      membershipProof\n      consistencyProof\n      verification {\n        hash\n        membership\n        consistency\n        signature\n        failures\n      }\n    }\n    ... on UpstreamValidationError {\n      fieldErrors {\n        code\n        detail\n        path\n        source\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.LogEventDocument,
    "query ResultsPage($resultId: ID!, $first: Int, $after: String) {\n  results(resultId: $resultId, first: $first, after: $after) {\n    ...AuditEventPage\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.ResultsPageDocument,
    "query Root($treeSize: Int) {\n  root(treeSize: $treeSize) {\n    ... on PublishedRoot {\n      treeName\n      size\n      rootHash\n      publishedAt\n      url\n      consistency\n      consistencyFailure\n      consistencyProof\n    }\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.RootDocument,
    "query SearchEvents($query: String!, $first: Int, $after: String, $start: String, $end: String, $order: SortOrder, $maxResults: Int) {\n  search(\n    query: $query\n    first: $first\n    after: $after\n    start: $start\n    end: $end\n    order: $order\n    maxResults: $maxResults\n  ) {\n    ...AuditEventPage\n    ... on Error {\n      message\n    }\n  }\n}": typeof types.SearchEventsDocument,
};
const documents: Documents = {
    "fragment AuditEventFields on AuditEvent {\n  id\n  hash\n  receivedAt\n  timestamp\n  actor\n  action\n  target\n  status\n  source\n  message\n  old\n  new\n  tenantId\n  published\n  leafIndex\n  verification {\n    hash\n    membership\n    consistency\n    signature\n    witness\n    verdict\n    verdictReason\n    failures\n    verified\n  }\n}\n\nfragment AuditEventPage on AuditEventConnection {\n  totalCount\n  resultId\n  expiresAt\n  edges {\n    cursor\n    node {\n      ...AuditEventFields\n    }\n  }\n  pageInfo {\n    hasNextPage\n    hasPreviousPage\n    startCursor\n    endCursor\n  }\n  root {\n    treeName\n    size\n    rootHash\n    consistency\n  }\n  unpublishedRoot {\n    treeName\n    size\n    rootHash\n  }\n}": types.AuditEventFieldsFragmentDoc,
    "mutation LogEvent($event: AuditEventInput!, $options: LogOptions = {verify: true}) {\n  log(event: $event, options: $options) {\n    ... on LogResult {\n      hash\n      receivedAt\n      unpublishedRoot\n      membershipProof\n      consistencyProof\n      verification {\n        hash\n        membership\n        consistency\n        signature\n        failures\n      }\n    }\n    ... on UpstreamValidationError {\n      fieldErrors {\n        code\n        detail\n        path\n        source\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.LogEventDocument,
    "query ResultsPage($resultId: ID!, $first: Int, $after: String) {\n  results(resultId: $resultId, first: $first, after: $after) {\n    ...AuditEventPage\n    ... on Error {\n      message\n    }\n  }\n}": types.ResultsPageDocument,
    "query Root($treeSize: Int) {\n  root(treeSize: $treeSize) {\n    ... on PublishedRoot {\n      treeName\n      size\n      rootHash\n      publishedAt\n      url\n      consistency\n      consistencyFailure\n      consistencyProof\n    }\n    ... on Error {\n      message\n    }\n  }\n}": types.RootDocument,
    "query SearchEvents($query: String!, $first: Int, $after: String, $start: String, $end: String, $order: SortOrder, $maxResults: Int) {\n  search(\n    query: $query\n    first: $first\n    after: $after\n    start: $start\n    end: $end\n    order: $order\n    maxResults: $maxResults\n  ) {\n    ...AuditEventPage\n    ... on Error {\n      message\n    }\n  }\n}": types.SearchEventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment AuditEventFields on AuditEvent {\n  id\n  hash\n  receivedAt\n  timestamp\n  actor\n  action\n  target\n  status\n  source\n  message\n  old\n  new\n  tenantId\n  published\n  leafIndex\n  verification {\n    hash\n    membership\n    consistency\n    signature\n    witness\n    verdict\n    verdictReason\n    failures\n    verified\n  }\n}\n\nfragment AuditEventPage on AuditEventConnection {\n  totalCount\n  resultId\n  expiresAt\n  edges {\n    cursor\n    node {\n      ...AuditEventFields\n    }\n  }\n  pageInfo {\n    hasNextPage\n    hasPreviousPage\n    startCursor\n    endCursor\n  }\n  root {\n    treeName\n    size\n    rootHash\n    consistency\n  }\n  unpublishedRoot {\n    treeName\n    size\n    rootHash\n  }\n}"): (typeof documents)["fragment AuditEventFields on AuditEvent {\n  id\n  hash\n  receivedAt\n  timestamp\n  actor\n  action\n  target\n  status\n  source\n  message\n  old\n  new\n  tenantId\n  published\n  leafIndex\n  verification {\n    hash\n    membership\n    consistency\n    signature\n    witness\n    verdict\n    verdictReason\n    failures\n    verified\n  }\n}\n\nfragment AuditEventPage on AuditEventConnection {\n  totalCount\n  resultId\n  expiresAt\n  edges {\n    cursor\n    node {\n      ...AuditEventFields\n    }\n  }\n  pageInfo {\n    hasNextPage\n    hasPreviousPage\n    startCursor\n    endCursor\n  }\n  root {\n    treeName\n    size\n    rootHash\n    consistency\n  }\n  unpublishedRoot {\n    treeName\n    size\n    rootHash\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LogEvent($event: AuditEventInput!, $options: LogOptions = {verify: true}) {\n  log(event: $event, options: $options) {\n    ... on LogResult {\n      hash\n      receivedAt\n      unpublishedRoot\n      membershipProof\n      consistencyProof\n      verification {\n        hash\n        membership\n        consistency\n        signature\n        failures\n      }\n    }\n    ... on UpstreamValidationError {\n      fieldErrors {\n        code\n        detail\n        path\n        source\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["mutation LogEvent($event: AuditEventInput!, $options: LogOptions = {verify: true}) {\n  log(event: $event, options: $options) {\n    ... on LogResult {\n      hash\n      receivedAt\n      unpublishedRoot\n      membershipProof\n      consistencyProof\n      verification {\n        hash\n        membership\n        consistency\n        signature\n        failures\n      }\n    }\n    ... on UpstreamValidationError {\n      fieldErrors {\n        code\n        detail\n        path\n        source\n      }\n    }\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ResultsPage($resultId: ID!, $first: Int, $after: String) {\n  results(resultId: $resultId, first: $first, after: $after) {\n    ...AuditEventPage\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["query ResultsPage($resultId: ID!, $first: Int, $after: String) {\n  results(resultId: $resultId, first: $first, after: $after) {\n    ...AuditEventPage\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Root($treeSize: Int) {\n  root(treeSize: $treeSize) {\n    ... on PublishedRoot {\n      treeName\n      size\n      rootHash\n      publishedAt\n      url\n      consistency\n      consistencyFailure\n      consistencyProof\n    }\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["query Root($treeSize: Int) {\n  root(treeSize: $treeSize) {\n    ... on PublishedRoot {\n      treeName\n      size\n      rootHash\n      publishedAt\n      url\n      consistency\n      consistencyFailure\n      consistencyProof\n    }\n    ... on Error {\n      message\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SearchEvents($query: String!, $first: Int, $after: String, $start: String, $end: String, $order: SortOrder, $maxResults: Int) {\n  search(\n    query: $query\n    first: $first\n    after: $after\n    start: $start\n    end: $end\n    order: $order\n    maxResults: $maxResults\n  ) {\n    ...AuditEventPage\n    ... on Error {\n      message\n    }\n  }\n}"): (typeof documents)["query SearchEvents($query: String!, $first: Int, $after: String, $start: String, $end: String, $order: SortOrder, $maxResults: Int) {\n  search(\n    query: $query\n    first: $first\n    after: $after\n    start: $start\n    end: $end\n    order: $order\n    maxResults: $maxResults\n  ) {\n    ...AuditEventPage\n    ... on Error {\n      message\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;