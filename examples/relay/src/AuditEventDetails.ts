// One event of the list, refetchable on its own: `@refetchable` on a fragment on AuditEvent makes
// relay-compiler generate AuditEventDetailsRefetchQuery, which asks Query.node(id:) for the event by
// its id. Useful to re-read an event's verification after its root is published (PENDING becomes
// VERIFIED) without paging the whole list again: `useRefetchableFragment(...)[1]({}, { fetchPolicy: 'network-only' })`.

// In an app: `import { graphql } from 'react-relay'` (see AuditEventList.ts).
declare function graphql(strings: TemplateStringsArray): unknown;

export const auditEventDetailsFragment = graphql`
  fragment AuditEventDetails_event on AuditEvent @refetchable(queryName: "AuditEventDetailsRefetchQuery") {
    id
    hash
    receivedAt
    published
    leafIndex
    verification {
      verdict
      verdictReason
      failures
    }
  }
`;
