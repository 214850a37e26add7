// The one error the query language raises, for syntax and for meaning alike (unknown field,
// comparison on a string field, a value that is not an integer...). The service reports it as a
// `ValidationError` with `code: "BadFormat"`; `detail` is the message, which names the token and
// its position.

export class QuerySyntaxError extends Error {
  override readonly name = 'QuerySyntaxError';

  /**
   * @param token the offending text exactly as written in the query ("" at the end of input)
   * @param position 0-based offset of `token` in the query, in UTF-16 code units (JS indexing)
   * @param problem what is wrong, phrased to be followed by the quoted token, e.g.
   *   `unknown field` gives `unknown field "foo" at position 0`
   */
  constructor(
    readonly token: string,
    readonly position: number,
    problem = 'unexpected',
  ) {
    super(`${problem} ${JSON.stringify(token)} at position ${position}`);
  }
}
