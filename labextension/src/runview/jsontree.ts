/**
 * What the collapsible JSON tree of the run view needs to know about a value, kept free of
 * React: its kind, its size, a one-line preview, its children one page at a time, and long
 * strings cut to a length a row can hold (the full text goes in the row's title, itself
 * bounded so a megabyte string does not become a megabyte attribute). Pure.
 */

export type JsonKind =
  'object' | 'array' | 'string' | 'number' | 'boolean' | 'null' | 'other';

/** Children shown at first, and added by each "show more". */
export const CHILD_PAGE = 100;
/** Characters of a string shown in a row. */
export const STRING_PREVIEW = 120;
/** Characters of a string put in a title (the tooltip). */
export const TITLE_LIMIT = 10_000;

export function kindOf(value: unknown): JsonKind {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'array';
  }
  switch (typeof value) {
    case 'object':
      return 'object';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'other';
  }
}

/** Whether a value has children to expand (a non-empty object or array). */
export function isExpandable(value: unknown): boolean {
  const kind = kindOf(value);
  return (
    (kind === 'array' && (value as unknown[]).length > 0) ||
    (kind === 'object' && Object.keys(value as object).length > 0)
  );
}

/** The number of children of an object or array; 0 for anything else. */
export function sizeOf(value: unknown): number {
  const kind = kindOf(value);
  if (kind === 'array') {
    return (value as unknown[]).length;
  }
  if (kind === 'object') {
    return Object.keys(value as object).length;
  }
  return 0;
}

/** `text` cut to `max` characters with an ellipsis, and whether it was cut. */
export function truncate(
  text: string,
  max = STRING_PREVIEW
): { text: string; truncated: boolean } {
  if (max < 1) {
    throw new RangeError(`truncate: max must be at least 1, got ${max}`);
  }
  if (text.length <= max) {
    return { text, truncated: false };
  }
  return { text: `${text.slice(0, max - 1)}…`, truncated: true };
}

/** How a leaf is written in a row: strings quoted (and cut), the rest as JSON writes them. */
export function leafText(
  value: unknown,
  max = STRING_PREVIEW
): { text: string; title: string | null } {
  switch (kindOf(value)) {
    case 'string': {
      const full = JSON.stringify(value);
      const cut = truncate(full, max);
      return {
        text: cut.text,
        title: cut.truncated
          ? truncate(value as string, TITLE_LIMIT).text
          : null
      };
    }
    case 'number':
      // JSON has no NaN or Infinity; a state that holds them shows them as they are
      return { text: String(value), title: null };
    case 'boolean':
    case 'null':
      return { text: String(value), title: null };
    case 'array':
      return { text: (value as unknown[]).length ? '[…]' : '[]', title: null };
    case 'object':
      return {
        text: Object.keys(value as object).length ? '{…}' : '{}',
        title: null
      };
    default:
      return { text: String(value), title: null };
  }
}

/** The children `[key, value]` of an object or array, the first `shown` of them. */
export function childrenOf(
  value: unknown,
  shown = CHILD_PAGE
): { entries: [string, unknown][]; total: number; hidden: number } {
  const kind = kindOf(value);
  const limit = Math.max(0, Math.floor(shown));
  if (kind === 'array') {
    const items = value as unknown[];
    const entries: [string, unknown][] = [];
    for (let i = 0; i < Math.min(limit, items.length); i++) {
      entries.push([String(i), items[i]]);
    }
    return {
      entries,
      total: items.length,
      hidden: items.length - entries.length
    };
  }
  if (kind === 'object') {
    const keys = Object.keys(value as object);
    const entries = keys
      .slice(0, limit)
      .map((k): [string, unknown] => [
        k,
        (value as Record<string, unknown>)[k]
      ]);
    return {
      entries,
      total: keys.length,
      hidden: keys.length - entries.length
    };
  }
  return { entries: [], total: 0, hidden: 0 };
}

/** Whether a node at `depth` starts expanded: the top level of a tree that starts open. */
export function startsExpanded(depth: number, rootExpanded: boolean): boolean {
  return rootExpanded && depth === 0;
}

/** The children shown after one more "show more" (never past the total). */
export function nextShown(
  shown: number,
  total: number,
  page = CHILD_PAGE
): number {
  return Math.min(total, shown + page);
}
