/**
 * The text of a workflow in the editor: reading it as JSON or YAML (a syntax error is placed
 * at its own line, no server needed), writing a definition in either format, converting
 * between them, the template of a new workflow, and the initial state typed in the Run dialog.
 * Pure: no DOM, no Lab beyond the translation bundle's type.
 */

import { parseDocument, stringify } from 'yaml';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IDefinition } from '../api';
import { IJsonSyntaxError, scanJson } from './jsonSource';
import { lineOfOffset, TextFormat } from './pointers';

export type { TextFormat } from './pointers';

/** The editor's MIME type of each format (Lab's CodeMirror picks its language from it). */
export const MIME_TYPES: Record<TextFormat, string> = {
  json: 'application/json',
  yaml: 'text/x-yaml'
};

/** A problem of the text itself, before any server: its line, its range, what is wrong. */
export interface ISyntaxProblem {
  line: number;
  from: number;
  to: number;
  message: string;
}

export type ParsedText =
  | { ok: true; definition: IDefinition }
  | { ok: false; problem: ISyntaxProblem };

/** `text` read as `format`: a definition (a JSON object), or where and why it is not one. */
export function parseText(
  text: string,
  format: TextFormat,
  trans: TranslationBundle
): ParsedText {
  const read =
    format === 'json' ? readJson(text, trans) : readYaml(text, trans);
  if (!read.ok) {
    return read;
  }
  if (!isPlainObject(read.value)) {
    return refusedAt(
      text,
      /\S/.exec(text)?.index ?? 0,
      trans.__(
        'A workflow is an object with id, name, version and workflow, not %1.',
        kindOf(read.value, trans)
      )
    );
  }
  return { ok: true, definition: read.value as IDefinition };
}

/** `definition` written in `format`, two-space indented. */
export function serialize(definition: unknown, format: TextFormat): string {
  if (format === 'json') {
    return JSON.stringify(definition, null, 2) + '\n';
  }
  // no line folding (long messages stay one line), no anchors for repeated objects
  return stringify(definition, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** `text` rewritten from one format to the other; a syntax error refuses. */
export function convertText(
  text: string,
  from: TextFormat,
  to: TextFormat,
  trans: TranslationBundle
): { ok: true; text: string } | { ok: false; problem: ISyntaxProblem } {
  const parsed = parseText(text, from, trans);
  if (!parsed.ok) {
    return parsed;
  }
  return {
    ok: true,
    text: from === to ? text : serialize(parsed.definition, to)
  };
}

/** The form compared to tell whether the text changed since the last save. */
export function canonical(definition: unknown): string {
  return JSON.stringify(definition);
}

/**
 * A new workflow that validates as it is: one `log` step. `suffix` makes its id unlikely to
 * clash with a saved one (the definition id is unique per user: a clash is a 409 on save).
 */
export function newDefinition(suffix: string): IDefinition {
  const tail = suffix.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 24);
  return {
    id: tail ? `workflow-${tail}` : 'workflow',
    name: 'New workflow',
    version: '1.0.0',
    description: '',
    initialState: {},
    workflow: [{ log: { message: 'hello' } }]
  };
}

/** What a stored workflow's name, version and description become on save: the definition's. */
export function recordFields(definition: IDefinition): {
  name?: string;
  version?: string;
  description?: string;
} {
  const fields: { name?: string; version?: string; description?: string } = {};
  if (typeof definition.name === 'string') {
    fields.name = definition.name;
  }
  if (typeof definition.version === 'string') {
    fields.version = definition.version;
  }
  fields.description =
    typeof definition.description === 'string' ? definition.description : '';
  return fields;
}

/** The initial state typed in the Run dialog: a JSON object (empty text is `{}`). */
export function parseInitialState(
  text: string,
  trans: TranslationBundle
):
  | { ok: true; state: Record<string, unknown> }
  | { ok: false; message: string } {
  if (text.trim() === '') {
    return { ok: true, state: {} };
  }
  const read = readJson(text, trans);
  if (!read.ok) {
    return {
      ok: false,
      message: trans.__('Line %1: %2', read.problem.line, read.problem.message)
    };
  }
  if (!isPlainObject(read.value)) {
    return {
      ok: false,
      message: trans.__(
        'The initial state must be a JSON object, not %1.',
        kindOf(read.value, trans)
      )
    };
  }
  return { ok: true, state: read.value };
}

/** The initial state to offer in the Run dialog: the definition's own, or `{}`. */
export function initialStateText(definition: IDefinition | null): string {
  const state = definition?.initialState;
  return JSON.stringify(isPlainObject(state) ? state : {}, null, 2);
}

export function isPlainObject(
  value: unknown
): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Refused = { ok: false; problem: ISyntaxProblem };
type Read = { ok: true; value: unknown } | Refused;

/** `message` about `text` from `from` to `to` (on `from`'s line; the text's start by default). */
function refused(text: string, message: string, from = 0, to = from): Refused {
  return {
    ok: false,
    problem: { line: lineOfOffset(text, from), from, to, message }
  };
}

/** `message` about the character of `text` at `offset` (none past the end). */
function refusedAt(text: string, offset: number, message: string): Refused {
  return refused(text, message, offset, Math.min(text.length, offset + 1));
}

function readJson(text: string, trans: TranslationBundle): Read {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (native) {
    const scan = scanJson(text);
    if (!scan.ok) {
      return refusedAt(
        text,
        scan.error.offset,
        jsonErrorMessage(scan.error, trans)
      );
    }
    // the scanner found no fault JSON.parse did: say what the browser says, at line 1
    return refused(text, String((native as Error)?.message ?? native));
  }
}

function readYaml(text: string, trans: TranslationBundle): Read {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const [from, to] = error.pos;
    return refused(
      text,
      trans.__('YAML: %1', error.message),
      from,
      Math.max(from, to)
    );
  }
  try {
    // a document of aliases upon aliases (a "billion laughs") is refused, not expanded
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (e) {
    return refused(
      text,
      trans.__('YAML: %1', String((e as Error)?.message ?? e))
    );
  }
}

/** A JSON syntax error in words. */
export function jsonErrorMessage(
  error: IJsonSyntaxError,
  trans: TranslationBundle
): string {
  const found =
    error.found === null
      ? ''
      : error.found === '\n' || error.found === '\r'
        ? trans.__('line break')
        : /^[\x21-\x7e]$/.test(error.found)
          ? `'${error.found}'`
          : JSON.stringify(error.found);
  switch (error.code) {
    case 'empty':
      return trans.__('The text is empty: a workflow is a JSON object.');
    case 'unexpected-end':
      return trans.__('The JSON ends too early (something is not closed).');
    case 'unexpected-char':
      return trans.__('Unexpected %1: a value was expected here.', found);
    case 'expected-key':
      return trans.__(
        'Unexpected %1: a property name in double quotes was expected (no trailing comma).',
        found
      );
    case 'expected-colon':
      return trans.__('Unexpected %1: ":" was expected after the name.', found);
    case 'expected-comma-or-brace':
      return trans.__('Unexpected %1: "," or "}" was expected.', found);
    case 'expected-comma-or-bracket':
      return trans.__('Unexpected %1: "," or "]" was expected.', found);
    case 'unterminated-string':
      return trans.__('This string is not closed.');
    case 'bad-escape':
      return trans.__('Invalid escape sequence in a string.');
    case 'control-char':
      return trans.__('A control character must be escaped in a string.');
    case 'bad-number':
      return trans.__('Invalid number.');
    case 'trailing-content':
      return trans.__('Unexpected %1 after the end of the document.', found);
    case 'too-deep':
      return trans.__('The document is nested too deeply.');
  }
}

function kindOf(value: unknown, trans: TranslationBundle): string {
  if (value === null) {
    return trans.__('null');
  }
  if (Array.isArray(value)) {
    return trans.__('an array');
  }
  switch (typeof value) {
    case 'string':
      return trans.__('a string');
    case 'number':
      return trans.__('a number');
    case 'boolean':
      return trans.__('a boolean');
    default:
      return trans.__('a value of another kind');
  }
}
