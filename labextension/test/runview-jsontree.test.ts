import { describe, expect, it } from 'vitest';
import {
  childrenOf,
  isExpandable,
  kindOf,
  leafText,
  nextShown,
  sizeOf,
  startsExpanded,
  TITLE_LIMIT,
  truncate
} from '../src/runview/jsontree';

describe('the JSON tree helpers', () => {
  it('know the kinds of JSON values', () => {
    expect([{}, [], 'x', 1, true, null, undefined].map(v => kindOf(v))).toEqual(
      ['object', 'array', 'string', 'number', 'boolean', 'null', 'other']
    );
  });

  it('expand only non-empty objects and arrays', () => {
    expect(isExpandable({ a: 1 })).toBe(true);
    expect(isExpandable([0])).toBe(true);
    expect(isExpandable({})).toBe(false);
    expect(isExpandable([])).toBe(false);
    expect(isExpandable('abc')).toBe(false);
    expect(sizeOf({ a: 1, b: 2 })).toBe(2);
    expect(sizeOf([1, 2, 3])).toBe(3);
    expect(sizeOf('abc')).toBe(0);
  });

  it('give the first 100 children, then more, never past the total', () => {
    const big = Array.from({ length: 250 }, (_, i) => i);
    const first = childrenOf(big);
    expect(first.entries).toHaveLength(100);
    expect(first.entries[0]).toEqual(['0', 0]);
    expect(first.total).toBe(250);
    expect(first.hidden).toBe(150);
    const shown = nextShown(nextShown(100, 250), 250);
    expect(shown).toBe(250);
    expect(childrenOf(big, shown).hidden).toBe(0);
    const obj = Object.fromEntries(
      Array.from({ length: 120 }, (_, i) => [`k${i}`, i])
    );
    const keys = childrenOf(obj);
    expect(keys.entries[99]).toEqual(['k99', 99]);
    expect(keys.hidden).toBe(20);
    expect(childrenOf(5)).toEqual({ entries: [], total: 0, hidden: 0 });
  });

  it('cut long strings, the full text (bounded) in the title', () => {
    const long = 'x'.repeat(500);
    const leaf = leafText(long, 50);
    expect(leaf.text).toHaveLength(50);
    expect(leaf.text.endsWith('…')).toBe(true);
    expect(leaf.title).toBe(long);
    const huge = leafText('y'.repeat(TITLE_LIMIT * 3), 50);
    expect(huge.title).toHaveLength(TITLE_LIMIT);
    expect(leafText('short')).toEqual({ text: '"short"', title: null });
    expect(leafText(null).text).toBe('null');
    expect(leafText(false).text).toBe('false');
    expect(leafText(1.5).text).toBe('1.5');
    expect(leafText({}).text).toBe('{}');
    expect(leafText([]).text).toBe('[]');
  });

  it('refuse a truncation length below 1', () => {
    expect(() => truncate('abc', 0)).toThrow(/at least 1/);
    expect(truncate('abc', 3)).toEqual({ text: 'abc', truncated: false });
  });

  it('open only the top level of a tree that starts open', () => {
    expect(startsExpanded(0, true)).toBe(true);
    expect(startsExpanded(1, true)).toBe(false);
    expect(startsExpanded(0, false)).toBe(false);
  });
});
