// What a bearer token of the local service is: one word of visible ASCII (RFC 6750's token
// characters and the rest of the printable range). The server compares the presented token as
// sent, so a token outside this rule could never be presented, and a blank one, which "Bearer"
// followed by spacing would present, must never be accepted.
export const BEARER_TOKEN = /^[\x21-\x7e]+$/;
