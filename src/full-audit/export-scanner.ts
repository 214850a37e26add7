// Reads a JSON export file (v1/download_results, format json) as it streams in: the file is one
// object shaped like a v1/results result, `{…, "count": n, "events": [{…}, …], "root"?: …}`, and
// can be far larger than memory should hold. The scanner follows strings and nesting character by
// character and hands out each element of the top-level "events" array, parsed, as soon as its
// closing brace arrives; nothing else of the file is kept.
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from '../wire/json-bytes.js';

function isWhitespace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

export class ExportFormatError extends Error {
  override name = 'ExportFormatError';
}

export class ExportEventScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The last member name read at the top level, and the one a ':' made current. */
  private lastString: string | undefined;
  private member: string | undefined;
  /** A top-level string being read: the text before the current chunk, and its start in it. */
  private stringCarry: string | undefined;
  private stringStart = -1;
  private inEvents = false;
  private sawEvents = false;
  private finished = false;
  /** An element of "events" being read: the text before the current chunk, and its start in it. */
  private elementCarry: string | undefined;
  private elementStart = -1;
  /** Elements handed out. */
  count = 0;

  /** Scans the next piece of the file; each event completed in it is passed to `onEvent`. */
  feed(text: string, onEvent: (event: unknown) => void): void {
    if (this.elementCarry !== undefined) this.elementStart = 0;
    if (this.stringCarry !== undefined) this.stringStart = 0;
    const length = text.length;
    for (let i = 0; i < length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.stringStart >= 0) {
            this.lastString = JSON.parse((this.stringCarry ?? '') + text.slice(this.stringStart, i + 1)) as string;
            this.stringCarry = undefined;
            this.stringStart = -1;
          }
        }
        continue;
      }
      if (this.finished) {
        if (!isWhitespace(c)) throw new ExportFormatError('the export file has data after its closing brace');
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1) this.stringStart = i;
        else if (this.depth === 2 && this.inEvents) throw new ExportFormatError('an element of "events" in the export file is not an object');
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (this.depth === 0 && c !== OPEN_OBJECT) throw new ExportFormatError('the export file is not a JSON object');
        if (this.depth === 2 && this.inEvents) {
          if (c !== OPEN_OBJECT) throw new ExportFormatError('an element of "events" in the export file is not an object');
          this.elementStart = i;
        }
        if (this.depth === 1 && c === OPEN_ARRAY && this.member === 'events') this.inEvents = true;
        this.depth++;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        this.depth--;
        if (this.depth < 0) throw new ExportFormatError('the export file has an unbalanced bracket');
        if (this.depth === 2 && this.elementStart >= 0) {
          const element = (this.elementCarry ?? '') + text.slice(this.elementStart, i + 1);
          this.elementCarry = undefined;
          this.elementStart = -1;
          this.count++;
          onEvent(JSON.parse(element));
        } else if (this.depth === 1 && this.inEvents) {
          this.inEvents = false;
          this.sawEvents = true;
        } else if (this.depth === 0) this.finished = true;
      } else if (c === COLON && this.depth === 1) {
        this.member = this.lastString;
      } else if (this.depth === 2 && this.inEvents && this.elementStart < 0 && c !== COMMA && !isWhitespace(c)) {
        throw new ExportFormatError('an element of "events" in the export file is not an object');
      } else if (this.depth === 0 && !isWhitespace(c)) {
        throw new ExportFormatError('the export file is not a JSON object');
      }
    }
    // Text of an element or member name still open at the end of this piece: kept for the next.
    if (this.elementStart >= 0) this.elementCarry = (this.elementCarry ?? '') + text.slice(this.elementStart);
    if (this.stringStart >= 0) this.stringCarry = (this.stringCarry ?? '') + text.slice(this.stringStart);
  }

  /** The file has ended: throws unless it was one complete object with an "events" array. */
  end(): void {
    if (!this.finished || this.inString) throw new ExportFormatError('the export file ends before its closing brace (truncated)');
    if (!this.sawEvents) throw new ExportFormatError('the export file has no "events" array');
  }
}
