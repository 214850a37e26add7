// A Relay component's data: a paginated, refetchable fragment on Query over Query.auditEvents,
// and the query that spreads it. `npx relay-compiler` (run in examples/relay) writes the
// artifacts to src/__generated__; an app hands them to usePaginationFragment / useLazyLoadQuery.

// In an app: `import { graphql } from 'react-relay'`; the Relay Babel/SWC plugin replaces each
// tag with its generated artifact, so the tag never runs.
declare function graphql(strings: TemplateStringsArray): unknown;

/**
 * One page of events plus what Relay needs to page on (`@connection` keeps the pages merged in
 * its store under this key) and to refetch with other arguments (`@refetchable` generates
 * AuditEventListPaginationQuery on Query).
 */
export const auditEventListFragment = graphql`
  fragment AuditEventList_query on Query
  @refetchable(queryName: "AuditEventListPaginationQuery")
  @argumentDefinitions(
    query: { type: "String!" }
    count: { type: "Int", defaultValue: 20 }
    cursor: { type: "String" }
  ) {
    auditEvents(query: $query, first: $count, after: $cursor) @connection(key: "AuditEventList_auditEvents") {
      totalCount
      edges {
        node {
          id
          hash
          receivedAt
          actor
          action
          message
          verification {
            verdict
            failures
          }
          ...AuditEventDetails_event
        }
      }
    }
  }
`;

/** The page's query: the fragment, for the search the user typed. */
export const auditEventListQuery = graphql`
  query AuditEventListQuery($query: String!) {
    ...AuditEventList_query @arguments(query: $query)
  }
`;
