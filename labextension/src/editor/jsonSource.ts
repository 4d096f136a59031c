/**
 * A strict JSON scanner (RFC 8259, what `JSON.parse` accepts) that keeps where each value is in
 * the text. The editor needs two things `JSON.parse` does not give in every browser: the
 * offset of a syntax error, and the text range of the value a JSON pointer names. The values
 * themselves still come from `JSON.parse` (see document.ts); this module only finds places.
 * Pure: no DOM, no Lab.
 */

/** Where a value is: `start`..`end` (offsets in the text, `end` exclusive). */
export interface ISourceNode {
  start: number;
  end: number;
  /** An object's members by key: the range runs from the key to the end of its value. */
  entries?: Map<string, ISourceEntry>;
  /** An array's items, in order. */
  items?: ISourceNode[];
}

export interface ISourceEntry {
  start: number;
  end: number;
  node: ISourceNode;
}

/** Why the text is not JSON; the UI words each code (translated). */
export type JsonErrorCode =
  | 'empty'
  | 'unexpected-end'
  | 'unexpected-char'
  | 'expected-key'
  | 'expected-colon'
  | 'expected-comma-or-brace'
  | 'expected-comma-or-bracket'
  | 'unterminated-string'
  | 'bad-escape'
  | 'control-char'
  | 'bad-number'
  | 'trailing-content'
  | 'too-deep';

export interface IJsonSyntaxError {
  code: JsonErrorCode;
  /** The offset of the offending character (the text's length at its end). */
  offset: number;
  /** The offending character, when there is one. */
  found: string | null;
}

export type JsonScan =
  { ok: true; root: ISourceNode } | { ok: false; error: IJsonSyntaxError };

/** Nesting deeper than this is refused (the scanner recurses; the server has its own cap). */
export const MAX_JSON_DEPTH = 512;

class ScanError extends Error {
  constructor(readonly detail: IJsonSyntaxError) {
    super(detail.code);
  }
}

/** The positions of every value of `text`, or the first syntax error. */
export function scanJson(text: string): JsonScan {
  const scanner = new Scanner(text);
  try {
    return { ok: true, root: scanner.document() };
  } catch (error) {
    if (error instanceof ScanError) {
      return { ok: false, error: error.detail };
    }
    throw error;
  }
}

class Scanner {
  constructor(private readonly text: string) {}

  document(): ISourceNode {
    this.skipSpace();
    if (this.pos >= this.text.length) {
      this.fail('empty');
    }
    const root = this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) {
      this.fail('trailing-content');
    }
    return root;
  }

  private value(depth: number): ISourceNode {
    if (depth > MAX_JSON_DEPTH) {
      this.fail('too-deep');
    }
    const c = this.text[this.pos];
    if (c === undefined) {
      this.fail('unexpected-end');
    }
    if (c === '{') {
      return this.object(depth);
    }
    if (c === '[') {
      return this.array(depth);
    }
    if (c === '"') {
      const start = this.pos;
      this.string();
      return { start, end: this.pos };
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      return this.number();
    }
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        const start = this.pos;
        this.pos += word.length;
        return { start, end: this.pos };
      }
    }
    this.fail('unexpected-char');
  }

  private object(depth: number): ISourceNode {
    const start = this.pos;
    const entries = new Map<string, ISourceEntry>();
    this.pos++; // {
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { start, end: this.pos, entries };
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') {
        this.fail(
          this.pos >= this.text.length ? 'unexpected-end' : 'expected-key'
        );
      }
      const keyStart = this.pos;
      const key = this.string();
      this.skipSpace();
      if (this.text[this.pos] !== ':') {
        this.fail(
          this.pos >= this.text.length ? 'unexpected-end' : 'expected-colon'
        );
      }
      this.pos++;
      this.skipSpace();
      const node = this.value(depth + 1);
      // a repeated key: the last one wins, as in JSON.parse
      entries.set(key, { start: keyStart, end: node.end, node });
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return { start, end: this.pos, entries };
      }
      this.fail(c === undefined ? 'unexpected-end' : 'expected-comma-or-brace');
    }
  }

  private array(depth: number): ISourceNode {
    const start = this.pos;
    const items: ISourceNode[] = [];
    this.pos++; // [
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { start, end: this.pos, items };
    }
    for (;;) {
      this.skipSpace();
      items.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return { start, end: this.pos, items };
      }
      this.fail(
        c === undefined ? 'unexpected-end' : 'expected-comma-or-bracket'
      );
    }
  }

  /** Reads a string at `pos` (on its opening quote) and returns its value. */
  private string(): string {
    const open = this.pos;
    this.pos++;
    let out = '';
    let chunk = this.pos;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) {
        this.pos = open;
        this.fail('unterminated-string');
      }
      if (c === '"') {
        out += this.text.slice(chunk, this.pos);
        this.pos++;
        return out;
      }
      if (c < ' ') {
        this.fail(c === '\n' ? 'unterminated-string' : 'control-char');
      }
      if (c === '\\') {
        out += this.text.slice(chunk, this.pos);
        const e = this.text[this.pos + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t'
        };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.pos += 2;
        } else if (
          e === 'u' &&
          /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))
        ) {
          out += String.fromCharCode(
            parseInt(this.text.slice(this.pos + 2, this.pos + 6), 16)
          );
          this.pos += 6;
        } else {
          this.fail(e === undefined ? 'unterminated-string' : 'bad-escape');
        }
        chunk = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  private number(): ISourceNode {
    const match = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    match.lastIndex = this.pos;
    const found = match.exec(this.text);
    if (found === null || found[0] === '-') {
      this.fail('bad-number');
    }
    const start = this.pos;
    this.pos += found[0].length;
    // "01", "1.", "1e": the number stops early and what follows cannot continue it
    const next = this.text[this.pos];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) {
      this.fail('bad-number');
    }
    return { start, end: this.pos };
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        this.pos++;
      } else {
        return;
      }
    }
  }

  private fail(code: JsonErrorCode): never {
    const found = this.text[this.pos];
    throw new ScanError({
      code,
      offset: Math.min(this.pos, this.text.length),
      found: found === undefined ? null : found
    });
  }

  private pos = 0;
}
