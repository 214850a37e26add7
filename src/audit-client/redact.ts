// Keeps the bearer token out of everything the client lets escape: error messages, stacks, causes
// and copies of server text. Servers and proxies echo things back (a summary quoting the header,
// a URL with a query string, an undici message naming a header), so every string that leaves the
// client through an error passes through here.

const REPLACEMENT = '[REDACTED]';
const MAX_DEPTH = 8;
/** Stands in for a value that could not be scrubbed (see value()). */
const UNSCRUBBABLE = '[REDACTED: not scrubbable]';

export class Redactor {
  /** Longest first, so a longer form is replaced before a shorter one it contains. */
  private readonly needles: readonly string[];
  private readonly longestNeedle: number;

  constructor(secrets: readonly string[]) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (!secret) continue;
      forms.add(secret);
      // The forms a secret takes when echoed inside a URL or a JSON string.
      forms.add(encodeURIComponent(secret));
      forms.add(JSON.stringify(secret).slice(1, -1));
    }
    this.needles = [...forms].sort((a, b) => b.length - a.length);
    this.longestNeedle = this.needles[0]?.length ?? 0;
  }

  /** The text with every occurrence of a secret replaced. */
  text(value: string): string {
    let out = value;
    for (const needle of this.needles) if (out.includes(needle)) out = out.split(needle).join(REPLACEMENT);
    return out;
  }

  /**
   * At most `chars` characters of the scrubbed text. Scrubbing comes first: cutting first could
   * leave the start of a secret that straddles the cut, which no longer matches a needle.
   */
  excerpt(value: string, chars: number): string {
    return this.text(value.slice(0, chars + this.longestNeedle)).slice(0, chars);
  }

  /** A deep copy of a JSON-like value with every string scrubbed (keys included). */
  value(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.text(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > MAX_DEPTH) return this.deepValue(value);
    if (Array.isArray(value)) return value.map((item) => this.value(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[this.text(key)] = this.value(item, depth + 1);
    return out;
  }

  /**
   * What lies below MAX_DEPTH, scrubbed through its JSON text: servers echo requests back in nested
   * debug structures, so the deep part is no safer than the rest. The values come from JSON.parse,
   * so they serialise; a secret that spans JSON syntax (possible only for a secret holding quotes)
   * would leave the scrubbed text unparsable, and then, as for nesting too deep to serialise, the
   * whole remainder is replaced.
   */
  private deepValue(value: object): unknown {
    try {
      return JSON.parse(this.text(JSON.stringify(value))) as unknown;
    } catch {
      return UNSCRUBBABLE;
    }
  }

  /**
   * A scrubbed stand-in for an arbitrary thrown value, suitable as an error `cause`. It keeps the
   * diagnostic members (name, message, code, errno, syscall, address, port, nested causes and
   * AggregateError members) and drops everything else, since undici errors may carry request data.
   */
  error(value: unknown, depth = 0): Error {
    if (!isErrorLike(value)) {
      return new ScrubbedError('NonError', this.text(safeString(value)), undefined);
    }
    const scrubbed = new ScrubbedError(value.name, this.text(value.message), typeof value.stack === 'string' ? this.text(value.stack) : undefined);
    const source = value as Error & Record<string, unknown>;
    for (const key of ['code', 'errno', 'syscall', 'address', 'port'] as const) {
      const member = source[key];
      if (typeof member === 'string') (scrubbed as unknown as Record<string, unknown>)[key] = this.text(member);
      else if (typeof member === 'number') (scrubbed as unknown as Record<string, unknown>)[key] = member;
    }
    if (depth < MAX_DEPTH && value.cause !== undefined) {
      Object.defineProperty(scrubbed, 'cause', { value: this.error(value.cause, depth + 1), enumerable: false, writable: true, configurable: true });
    }
    if (depth < MAX_DEPTH && Array.isArray(source.errors)) {
      scrubbed.errors = (source.errors as unknown[]).map((inner) => this.error(inner, depth + 1));
    }
    return scrubbed;
  }

  /**
   * Scrubs an error the client did not build itself (a bug, a TypeError from the caller's input)
   * in place, so it can still be rethrown with its own class.
   */
  inPlace(err: unknown): unknown {
    if (!isErrorLike(err)) return err;
    try {
      err.message = this.text(err.message);
      if (typeof err.stack === 'string') err.stack = this.text(err.stack);
      if (err.cause !== undefined) err.cause = this.error(err.cause);
      return err;
    } catch {
      // Read-only members (a DOMException's message): replace it with a scrubbed copy.
      return this.error(err);
    }
  }
}

/** A plain error with another error's (scrubbed) identity. */
class ScrubbedError extends Error {
  declare errors?: Error[];
  constructor(name: string, message: string, stack: string | undefined) {
    super(message);
    // Own, non-enumerable: String(err) and the stack header read it, but inspection stays quiet.
    Object.defineProperty(this, 'name', { value: name, enumerable: false, writable: true, configurable: true });
    if (stack !== undefined) this.stack = stack;
  }
}

/**
 * Error-shaped, by duck typing: errors from another realm (Node's own DOMException abort reasons,
 * system errors under a VM context such as Jest's) fail `instanceof Error`.
 */
function isErrorLike(value: unknown): value is Error {
  if (value instanceof Error) return true;
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as { name?: unknown; message?: unknown };
  return typeof candidate.name === 'string' && typeof candidate.message === 'string';
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
