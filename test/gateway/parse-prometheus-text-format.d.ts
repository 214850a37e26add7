// The package ships no types: the one function the tests use, returning the parsed families.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
