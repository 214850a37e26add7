// Apollo Client 4's cache with examples/apollo-cache.ts and the codegen documents: an event shown in
// a list (SearchEvents, AuditEventFields) and the same event refetched with fewer verification
// fields (node(id:), as a frontend rechecks a verdict once the root is published). The events are
// normalized by their id, so the refetch reaches the list; EventVerification merges, so the list
// still reads from the cache after it.
import { readFileSync } from 'node:fs';
import { ApolloClient, gql, HttpLink, InMemoryCache, type TypedDocumentNode, type TypePolicies } from '@apollo/client';
import { buildSchema } from 'graphql';
import { auditTypePolicies, possibleTypesOf } from '../../examples/apollo-cache.js';
import { SearchEventsDocument, type SearchEventsQuery } from '../../examples/generated/graphql.js';
import { startTestGateway, type TestGateway } from './support.js';

const schema = buildSchema(readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8'));

/** The verdict alone, by the event's id: another query's selection of the same verification. */
const VERDICT: TypedDocumentNode<{ node: { __typename: string; id: string; verification?: { __typename: string; verdict: string } } | null }, { id: string }> = gql`
  query Verdict($id: ID!) {
    node(id: $id) {
      id
      ... on AuditEvent {
        verification {
          verdict
        }
      }
    }
  }
`;

const LIST = { query: 'actor:apollo-cache', first: 10, order: 'ASC' } as const;

let gw: TestGateway;

function makeClient(typePolicies: TypePolicies = auditTypePolicies()): ApolloClient {
  return new ApolloClient({ link: new HttpLink({ uri: gw.url, fetch }), cache: new InMemoryCache({ possibleTypes: possibleTypesOf(schema), typePolicies }) });
}

function events(data: SearchEventsQuery | null | undefined) {
  if (data?.search?.__typename !== 'AuditEventConnection') throw new Error(`expected a connection, got ${JSON.stringify(data?.search)}`);
  return data.search.edges.map((edge) => edge.node);
}

beforeAll(async () => {
  gw = await startTestGateway('frontend-apollo-cache-');
  const client = makeClient();
  for (let i = 0; i < 3; i++) {
    await client.mutate({ mutation: gql`mutation L($e: AuditEventInput!) { log(event: $e) { __typename } }`, variables: { e: { actor: 'apollo-cache', message: `cached ${i}` } } });
  }
  client.stop();
});

afterAll(async () => {
  await gw?.close();
});

test('a refetched verdict reaches the list, and the list still reads from the cache', async () => {
  const client = makeClient();
  try {
    const listed = events((await client.query({ query: SearchEventsDocument, variables: LIST })).data);
    expect(listed.map((e) => e.message)).toEqual(['cached 0', 'cached 1', 'cached 2']);
    // Unpublished: not provable yet.
    expect(listed.map((e) => e.verification?.verdict)).toEqual(['PENDING', 'PENDING', 'PENDING']);
    expect(listed[0]!.verification?.verdictReason).toMatch(/^consistency: .*not published/);

    gw.local.publishNow();
    const refetched = (await client.query({ query: VERDICT, variables: { id: listed[0]!.id }, fetchPolicy: 'network-only' })).data?.node;
    expect(refetched).toEqual({ __typename: 'AuditEvent', id: listed[0]!.id, verification: { __typename: 'EventVerification', verdict: 'VERIFIED' } });

    // The list, read from the cache alone: complete, and the event shows its new verdict; the
    // fields the refetch did not ask for keep what the list was given.
    const read = client.readQuery({ query: SearchEventsDocument, variables: LIST });
    expect(read).not.toBeNull();
    const cached = events(read);
    expect(cached.map((e) => e.verification?.verdict)).toEqual(['VERIFIED', 'PENDING', 'PENDING']);
    expect(cached[0]).toEqual({ ...listed[0], verification: { ...listed[0]!.verification, verdict: 'VERIFIED' } });
  } finally {
    client.stop();
  }
});

test('without the EventVerification policy, the refetch replaces the list\'s verification and the list no longer reads', async () => {
  const { EventVerification: merged, ...withoutMerge } = auditTypePolicies();
  expect(merged).toEqual({ merge: true });
  const client = makeClient(withoutMerge);
  try {
    const listed = events((await client.query({ query: SearchEventsDocument, variables: LIST })).data);
    await client.query({ query: VERDICT, variables: { id: listed[1]!.id } });
    expect(client.readQuery({ query: SearchEventsDocument, variables: LIST })).toBeNull();
  } finally {
    client.stop();
  }
});
