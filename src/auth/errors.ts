// Failures of "who may do what": kept free of GraphQL and HTTP so every layer above can raise and
// recognise them (the GraphQL schema gives ForbiddenError a type; the gateway maps the others).

/** A credential that does not identify a caller. */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
}

/** A callers configuration (GATEWAY_KEYS_FILE / GATEWAY_KEYS) that cannot be used. */
export class CallerConfigError extends Error {
  override name = 'CallerConfigError';
}

/** The caller is bound to a tenant and asked for another's data. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
}
