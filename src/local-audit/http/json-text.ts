// A result already written as JSON text (a search page built around stored envelope texts,
// result-json.ts): the server writes it into the response envelope as is.
export class JsonText {
  constructor(readonly text: string) {}
}
