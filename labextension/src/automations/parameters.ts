/**
 * The parameters of a notebook, papermill's way: the names assigned in its first code cell
 * tagged `parameters`, each with its value when that value is a plain Python literal (numbers,
 * strings, True/False/None, and lists, tuples and dicts of those) turned into JSON, else null.
 *
 * This reads Python without running it: a small tokenizer (strings with their prefixes and
 * escapes, numbers, comments, brackets and line continuations, so values may span lines) and
 * a literal parser. Anything else (a call, a name, an f-string, bytes, a set, a comprehension)
 * is "not a literal": the name is kept with null, for the user to fill in.
 */

/** A notebook cell as nbformat stores it (only what is read here). */
export interface INotebookCellLike {
  cell_type: string;
  source: string | string[];
  metadata?: { tags?: string[] };
}

type Token =
  | { kind: 'name'; value: string }
  /** null: a number that JSON cannot hold (a complex `1j`) */
  | { kind: 'number'; value: number | null }
  /** null: not a plain string (an f-string, bytes, an unterminated or unknown escape) */
  | { kind: 'string'; value: string | null }
  | { kind: 'op'; value: string }
  | { kind: 'newline' };

const OPERATORS = [
  '**=',
  '//=',
  '>>=',
  '<<=',
  '...',
  '->',
  ':=',
  '==',
  '!=',
  '<=',
  '>=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '@=',
  '**',
  '//',
  '<<',
  '>>'
];

const OPENING: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const STRING_PREFIX = /^(?:r|u|b|f|br|rb|fr|rf)$/i;
const IDENTIFIER = /[\p{L}_][\p{L}\p{N}_]*/uy;
const NUMBER =
  /(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)([jJ])?/y;

/** Python source → tokens; a newline token ends each logical line (none inside brackets). */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  const newline = () => {
    const last = tokens[tokens.length - 1];
    if (last !== undefined && last.kind !== 'newline') {
      tokens.push({ kind: 'newline' });
    }
  };
  while (i < source.length) {
    const c = source[i];
    if (c === '\n') {
      if (depth === 0) {
        newline();
      }
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n') {
        i++;
      }
    } else if (c === '\\' && /^\\\r?\n/.test(source.slice(i, i + 3))) {
      // an explicit line continuation
      i += source[i + 1] === '\r' ? 3 : 2;
    } else if (c === '"' || c === "'") {
      const read = readString(source, i, '');
      tokens.push({ kind: 'string', value: read.value });
      i = read.end;
    } else if (/\d/.test(c) || (c === '.' && /\d/.test(source[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(source);
      if (match === null) {
        tokens.push({ kind: 'op', value: c });
        i++;
        continue;
      }
      tokens.push({ kind: 'number', value: numberOf(match[0]) });
      i = NUMBER.lastIndex;
    } else {
      IDENTIFIER.lastIndex = i;
      const match = IDENTIFIER.exec(source);
      if (match !== null) {
        const word = match[0];
        const next = source[IDENTIFIER.lastIndex];
        if ((next === '"' || next === "'") && STRING_PREFIX.test(word)) {
          const read = readString(source, IDENTIFIER.lastIndex, word);
          tokens.push({ kind: 'string', value: read.value });
          i = read.end;
        } else {
          tokens.push({ kind: 'name', value: word });
          i = IDENTIFIER.lastIndex;
        }
        continue;
      }
      const op = OPERATORS.find(o => source.startsWith(o, i)) ?? c;
      if (op in OPENING) {
        depth++;
      } else if ((op === ')' || op === ']' || op === '}') && depth > 0) {
        depth--;
      }
      tokens.push({ kind: 'op', value: op });
      i += op.length;
    }
  }
  newline();
  return tokens;
}

/** The value of a number literal; null for a complex one (`2j`: NaN here) or a huge one. */
function numberOf(text: string): number | null {
  const digits = text.replace(/_/g, '');
  const radix = /^0[xX]/.test(digits)
    ? 16
    : /^0[oO]/.test(digits)
      ? 8
      : /^0[bB]/.test(digits)
        ? 2
        : 10;
  const value =
    radix === 10 ? Number(digits) : parseInt(digits.slice(2), radix);
  return Number.isFinite(value) ? value : null;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v'
};

/** The string literal whose quote is at `start`; value null when it is not a plain str. */
function readString(
  source: string,
  start: number,
  prefix: string
): { value: string | null; end: number } {
  const quote = source[start];
  const triple = source.startsWith(quote.repeat(3), start);
  const closing = triple ? quote.repeat(3) : quote;
  const raw = /r/i.test(prefix);
  let plain = !/[bf]/i.test(prefix);
  let value = '';
  let i = start + closing.length;
  for (;;) {
    if (i >= source.length) {
      return { value: null, end: i };
    }
    if (source.startsWith(closing, i)) {
      return { value: plain ? value : null, end: i + closing.length };
    }
    const c = source[i];
    if (c === '\n' && !triple) {
      // unterminated: the literal stops at the end of its line
      return { value: null, end: i };
    }
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const next = source[i + 1] ?? '';
    if (raw) {
      // a raw string keeps its backslashes; one still stops a quote from closing it
      value += c + next;
      i += 2;
      continue;
    }
    if (next === '\n') {
      i += 2;
    } else if (next === '\r' && source[i + 2] === '\n') {
      i += 3;
    } else if (next in SIMPLE_ESCAPES) {
      value += SIMPLE_ESCAPES[next];
      i += 2;
    } else if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(source.slice(i + 1))![0];
      value += String.fromCodePoint(parseInt(octal, 8));
      i += 1 + octal.length;
    } else if (next === 'x' || next === 'u' || next === 'U') {
      const size = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const hex = source.slice(i + 2, i + 2 + size);
      const code = /^[0-9a-fA-F]+$/.test(hex) ? parseInt(hex, 16) : NaN;
      if (hex.length !== size || !(code <= 0x10ffff)) {
        plain = false;
        i += 2;
      } else {
        value += String.fromCodePoint(code);
        i += 2 + size;
      }
    } else {
      // \N{NAME} needs Unicode's name table; an unknown escape stays as written in Python
      if (next === 'N') {
        plain = false;
      }
      value += c + next;
      i += 2;
    }
  }
}

/** Not a literal: the parse of a value stops. */
class NotLiteral extends Error {}

class LiteralParser {
  constructor(private readonly tokens: Token[]) {}

  /** The whole token list as one value (a bare `1, 2` is a tuple). */
  parseAll(): unknown {
    const { items, comma } = this.parseSequence(null);
    if (this.pos !== this.tokens.length || items.length === 0) {
      throw new NotLiteral();
    }
    return comma ? items : items[0];
  }

  /** item (',' item)* [','] up to `end` (or the end of the tokens); `comma`: one was seen. */
  private parseSequence(end: string | null): {
    items: unknown[];
    comma: boolean;
  } {
    const items: unknown[] = [];
    let comma = false;
    while (!this.atEnd(end)) {
      items.push(this.parseItem());
      if (this.atEnd(end)) {
        break;
      }
      this.expect(',');
      comma = true;
    }
    return { items, comma };
  }

  private parseItem(): unknown {
    const token = this.next();
    if (token.kind === 'op' && (token.value === '-' || token.value === '+')) {
      const operand = this.parseItem();
      if (typeof operand !== 'number') {
        throw new NotLiteral();
      }
      return token.value === '-' ? -operand : operand;
    }
    if (token.kind === 'number') {
      if (token.value === null) {
        throw new NotLiteral();
      }
      return token.value;
    }
    if (token.kind === 'string') {
      // adjacent literals are one string: 'a' "b" == 'ab'
      let text = token.value;
      for (
        let more = this.peek();
        more?.kind === 'string';
        more = this.peek()
      ) {
        this.pos++;
        text = text === null || more.value === null ? null : text + more.value;
      }
      if (text === null) {
        throw new NotLiteral();
      }
      return text;
    }
    if (token.kind === 'name') {
      if (token.value === 'True') {
        return true;
      }
      if (token.value === 'False') {
        return false;
      }
      if (token.value === 'None') {
        return null;
      }
      throw new NotLiteral();
    }
    if (token.kind === 'op' && token.value === '[') {
      const { items } = this.parseSequence(']');
      this.expect(']');
      return items;
    }
    if (token.kind === 'op' && token.value === '(') {
      // (1) is 1; (1,) and () are tuples
      const { items, comma } = this.parseSequence(')');
      this.expect(')');
      return comma || items.length === 0 ? items : items[0];
    }
    if (token.kind === 'op' && token.value === '{') {
      return this.parseDict();
    }
    throw new NotLiteral();
  }

  private parseDict(): Record<string, unknown> {
    const dict: Record<string, unknown> = {};
    while (!this.atEnd('}')) {
      const key = this.parseItem();
      // `{1, 2}` is a set: JSON has none
      this.expect(':');
      const value = this.parseItem();
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw new NotLiteral();
      }
      dict[String(key)] = value;
      if (this.atEnd('}')) {
        break;
      }
      this.expect(',');
    }
    this.expect('}');
    return dict;
  }

  private atEnd(end: string | null): boolean {
    const token = this.peek();
    if (token === undefined) {
      return true;
    }
    return end !== null && token.kind === 'op' && token.value === end;
  }

  private expect(op: string): void {
    const token = this.next();
    if (token.kind !== 'op' || token.value !== op) {
      throw new NotLiteral();
    }
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private next(): Token {
    const token = this.tokens[this.pos++];
    if (token === undefined) {
      throw new NotLiteral();
    }
    return token;
  }

  private pos = 0;
}

/** The value of `tokens` as JSON, or null when it is not a plain literal. */
function literalOf(tokens: Token[]): { ok: boolean; value: unknown } {
  try {
    return { ok: true, value: new LiteralParser(tokens).parseAll() };
  } catch (error) {
    if (error instanceof NotLiteral) {
      return { ok: false, value: null };
    }
    throw error;
  }
}

/** Split `tokens` on top-level `separator` ops (outside brackets). */
function splitTop(tokens: Token[], separator: string): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === 'op') {
      if (token.value in OPENING) {
        depth++;
      } else if (
        (token.value === ')' || token.value === ']' || token.value === '}') &&
        depth > 0
      ) {
        depth--;
      } else if (token.value === separator && depth === 0) {
        parts.push([]);
        continue;
      }
    }
    parts[parts.length - 1].push(token);
  }
  return parts;
}

/** The names a target assigns: `x`, `x: int`, `a, b`, `(a, b)`; null for anything else. */
function targetNames(tokens: Token[]): string[] | null {
  if (
    tokens.length >= 1 &&
    tokens[0].kind === 'name' &&
    (tokens.length === 1 ||
      (tokens[1].kind === 'op' && tokens[1].value === ':'))
  ) {
    return [tokens[0].value];
  }
  let inner = tokens;
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  if (
    first?.kind === 'op' &&
    (first.value === '(' || first.value === '[') &&
    last?.kind === 'op' &&
    last.value === OPENING[first.value]
  ) {
    inner = tokens.slice(1, -1);
  }
  const parts = splitTop(inner, ',');
  if (parts.length > 1 && parts[parts.length - 1].length === 0) {
    parts.pop();
  }
  if (
    parts.length < 2 ||
    parts.some(p => p.length !== 1 || p[0].kind !== 'name')
  ) {
    return null;
  }
  return parts.map(p => (p[0] as { value: string }).value);
}

const KEYWORDS = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield'
]);

/** The assignments of a piece of Python: name → JSON value, or null when not a literal. */
export function parametersOfSource(source: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const statements: Token[][] = [];
  let current: Token[] = [];
  for (const token of tokenize(source)) {
    if (token.kind === 'newline') {
      statements.push(...splitTop(current, ';'));
      current = [];
    } else {
      current.push(token);
    }
  }
  statements.push(...splitTop(current, ';'));
  for (const statement of statements) {
    const parts = splitTop(statement, '=');
    if (parts.length < 2) {
      continue;
    }
    const value = literalOf(parts[parts.length - 1]);
    for (const target of parts.slice(0, -1)) {
      const names = targetNames(target);
      if (names === null || names.some(n => KEYWORDS.has(n))) {
        continue;
      }
      if (names.length === 1) {
        result[names[0]] = value.ok ? value.value : null;
        continue;
      }
      // a, b = 1, 2: unpacked when the tuple's length fits
      const values =
        value.ok &&
        Array.isArray(value.value) &&
        value.value.length === names.length
          ? value.value
          : null;
      names.forEach((name, k) => {
        result[name] = values === null ? null : values[k];
      });
    }
  }
  return result;
}

/** The parameters of the notebook whose cells are `cells` (papermill's `parameters` cell). */
export function parametersOfNotebook(
  cells: INotebookCellLike[]
): Record<string, unknown> {
  const cell = cells.find(
    c =>
      c.cell_type === 'code' &&
      Array.isArray(c.metadata?.tags) &&
      c.metadata.tags.includes('parameters')
  );
  if (cell === undefined) {
    return {};
  }
  const source = Array.isArray(cell.source)
    ? cell.source.join('')
    : cell.source;
  return parametersOfSource(typeof source === 'string' ? source : '');
}
