/**
 * JSON pointers (RFC 6901) to places in the text of a workflow. The server reports each problem
 * with a pointer into the definition (`/workflow/0/math/values`); the editor shows it at its
 * line. JSON text is located with the strict scanner of jsonSource.ts, YAML text with the
 * `yaml` package's node ranges. A pointer to something the text does not have (a missing
 * required field, say) falls back to its nearest existing parent. Pure: no DOM, no Lab.
 */

import { isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { ISourceEntry, ISourceNode, scanJson } from './jsonSource';

export type TextFormat = 'json' | 'yaml';

/** Where a pointer lands: its 1-based line, and the offsets of the range (end exclusive). */
export interface ITextRange {
  line: number;
  from: number;
  to: number;
  /** False when the pointer's target is missing and a parent's place is given instead. */
  exact: boolean;
}

/**
 * The reference tokens of `pointer`, unescaped (`~1` is `/`, `~0` is `~`). `''` is the whole
 * document (no token); anything that does not start with `/` is not a pointer: null.
 */
export function parsePointer(pointer: string): string[] | null {
  if (pointer === '') {
    return [];
  }
  if (!pointer.startsWith('/')) {
    return null;
  }
  return pointer
    .slice(1)
    .split('/')
    .map(token => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The pointer of `tokens`, escaped: the inverse of `parsePointer`. */
export function formatPointer(tokens: readonly string[]): string {
  return tokens
    .map(token => '/' + token.replace(/~/g, '~0').replace(/\//g, '~1'))
    .join('');
}

/** The 1-based line of `offset` in `text` (lines end at `\n`). */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  const end = Math.max(0, Math.min(offset, text.length));
  for (let i = text.indexOf('\n'); i !== -1 && i < end;) {
    line++;
    i = text.indexOf('\n', i + 1);
  }
  return line;
}

/** The offset where 1-based `line` starts (the text's end past its last line). */
export function offsetOfLine(text: string, line: number): number {
  let offset = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf('\n', offset);
    if (next === -1) {
      return text.length;
    }
    offset = next + 1;
  }
  return offset;
}

/**
 * Where `pointer` is in `text`. Null only when the text cannot be read in `format` (a syntax
 * error: the editor reports that on its own) ; a pointer that is not one, or names something
 * absent, gives the nearest existing parent (ultimately the whole document) with `exact: false`.
 */
export function pointerToRange(
  text: string,
  pointer: string,
  format: TextFormat
): ITextRange | null {
  const root = sourceTree(text, format);
  if (root === null) {
    return null;
  }
  return locate(text, root, pointer);
}

/** The positions of `text`'s values, or null when it does not parse. */
export function sourceTree(
  text: string,
  format: TextFormat
): ISourceNode | null {
  if (format === 'json') {
    const scan = scanJson(text);
    return scan.ok ? scan.root : null;
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    return null;
  }
  const contents = doc.contents as YamlNode | null;
  if (contents === null) {
    const start = firstNonSpace(text);
    return { start, end: start };
  }
  return yamlTree(doc, contents, 0);
}

/** `pointer`'s range in an already computed tree (see `sourceTree`). */
export function locate(
  text: string,
  root: ISourceNode,
  pointer: string
): ITextRange {
  const tokens = parsePointer(pointer);
  let place: { start: number; end: number } = root;
  let node: ISourceNode | undefined = root;
  let exact = tokens !== null;
  for (const token of tokens ?? []) {
    const next: ISourceEntry | ISourceNode | undefined = child(node, token);
    if (next === undefined) {
      exact = false;
      break;
    }
    place = next;
    node = 'node' in next ? next.node : next;
  }
  return {
    line: lineOfOffset(text, place.start),
    from: place.start,
    to: place.end,
    exact
  };
}

function child(
  node: ISourceNode,
  token: string
): ISourceEntry | ISourceNode | undefined {
  if (node.entries) {
    return node.entries.get(token);
  }
  if (node.items && /^(0|[1-9][0-9]*)$/.test(token)) {
    return node.items[Number(token)];
  }
  return undefined;
}

const MAX_YAML_DEPTH = 512;

function yamlTree(doc: Document, node: unknown, depth: number): ISourceNode {
  const [start, end] = rangeOf(node);
  if (depth > MAX_YAML_DEPTH) {
    return { start, end };
  }
  if (isAlias(node)) {
    // an alias stands where it is written; what it names is read through the anchor
    const target = node.resolve(doc);
    const inner = target ? yamlTree(doc, target, depth + 1) : { start, end };
    return { ...inner, start, end };
  }
  if (isMap(node)) {
    const entries = new Map<string, ISourceEntry>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      const [keyStart, keyEnd] = rangeOf(pair.key, start);
      const value =
        pair.value === null || pair.value === undefined
          ? { start: keyStart, end: keyEnd }
          : yamlTree(doc, pair.value, depth + 1);
      entries.set(String(key ?? ''), {
        start: keyStart,
        end: Math.max(keyEnd, value.end),
        node: value
      });
    }
    return { start, end, entries };
  }
  if (isSeq(node)) {
    return {
      start,
      end,
      items: node.items.map(item =>
        item === null || item === undefined
          ? { start, end: start }
          : yamlTree(doc, item, depth + 1)
      )
    };
  }
  return { start, end };
}

function rangeOf(node: unknown, fallback = 0): [number, number] {
  const range = (node as { range?: [number, number, number] | null } | null)
    ?.range;
  return range ? [range[0], range[1]] : [fallback, fallback];
}

function firstNonSpace(text: string): number {
  const match = /\S/.exec(text);
  return match ? match.index : 0;
}
