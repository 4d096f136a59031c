import { describe, expect, it } from 'vitest';
import { serialize } from '../src/editor/document';
import {
  formatPointer,
  lineOfOffset,
  offsetOfLine,
  parsePointer,
  pointerToRange
} from '../src/editor/pointers';
import { COUNT_TO_FIVE } from './editor-server';

/** The docs' example, plus keys that need escaping. */
const DOC = {
  ...COUNT_TO_FIVE,
  initialState: { i: 0, 'a/b': 1, 't~x': 2 }
};

/** The 1-based line of the first line of `text` containing `needle` (after line `after`). */
function lineOf(text: string, needle: string | RegExp, after = 0): number {
  const lines = text.split('\n');
  for (let i = after; i < lines.length; i++) {
    if (
      typeof needle === 'string'
        ? lines[i].includes(needle)
        : needle.test(lines[i])
    ) {
      return i + 1;
    }
  }
  throw new Error(`${needle} not in the text`);
}

describe('parsePointer / formatPointer', () => {
  it('unescapes ~1 and ~0, in that order', () => {
    expect(parsePointer('')).toEqual([]);
    expect(parsePointer('/')).toEqual(['']);
    expect(parsePointer('/workflow/0/math')).toEqual(['workflow', '0', 'math']);
    expect(parsePointer('/a~1b/t~0x/~01')).toEqual(['a/b', 't~x', '~1']);
    expect(parsePointer('workflow/0')).toBeNull();
  });

  it('escapes back to the same pointer', () => {
    for (const pointer of ['', '/a~1b/t~0x/~01', '/workflow/4/$.a~0b', '/']) {
      expect(formatPointer(parsePointer(pointer)!)).toBe(pointer);
    }
  });
});

describe('lineOfOffset / offsetOfLine', () => {
  const text = 'ab\ncd\n\nef';
  it('counts lines from 1', () => {
    expect(lineOfOffset(text, 0)).toBe(1);
    expect(lineOfOffset(text, 2)).toBe(1);
    expect(lineOfOffset(text, 3)).toBe(2);
    expect(lineOfOffset(text, 6)).toBe(3);
    expect(lineOfOffset(text, 7)).toBe(4);
    expect(lineOfOffset(text, 99)).toBe(4);
    expect(offsetOfLine(text, 1)).toBe(0);
    expect(offsetOfLine(text, 4)).toBe(7);
    expect(offsetOfLine(text, 9)).toBe(text.length);
  });
});

describe.each(['json', 'yaml'] as const)('pointerToRange (%s)', format => {
  const text = serialize(DOC, format);
  const logic = lineOf(text, 'logic...');
  const trueEdge = lineOf(text, 'true?');

  it('finds a top-level field at its key', () => {
    const at = pointerToRange(text, '/version', format)!;
    expect(at.exact).toBe(true);
    expect(at.line).toBe(lineOf(text, 'version'));
    expect(text.slice(at.from, at.to)).toMatch(/^"?version"?: "?1\.0\.0"?$/);
  });

  it('finds a node parameter inside nested arrays', () => {
    const values = pointerToRange(text, '/workflow/0/logic.../values', format)!;
    expect(values).toMatchObject({ exact: true, line: lineOf(text, 'values') });
    const second = pointerToRange(
      text,
      '/workflow/0/logic.../true?/1/$.i',
      format
    )!;
    expect(second.exact).toBe(true);
    expect(second.line).toBe(lineOf(text, 'mathResult'));
    const inner = pointerToRange(
      text,
      '/workflow/0/logic.../true?/0/math/values/1',
      format
    )!;
    // the second `values` of the document: the one under `math`, after `true?`
    const innerValues = lineOf(text, 'values', trueEdge);
    expect(inner.exact).toBe(true);
    expect(inner.line).toBeGreaterThanOrEqual(innerValues);
    expect(text.slice(inner.from, inner.to)).toBe('1');
  });

  it('finds an array item at the item', () => {
    const step = pointerToRange(text, '/workflow/1', format)!;
    expect(step.exact).toBe(true);
    expect(step.line).toBe(
      lineOf(text, /"?log"?:/) - (format === 'json' ? 1 : 0)
    );
    const first = pointerToRange(text, '/workflow/0', format)!;
    expect(first.line).toBe(format === 'json' ? logic - 1 : logic);
  });

  it('unescapes ~1 and ~0 in keys', () => {
    expect(pointerToRange(text, '/initialState/a~1b', format)).toMatchObject({
      exact: true,
      line: lineOf(text, 'a/b')
    });
    expect(pointerToRange(text, '/initialState/t~0x', format)).toMatchObject({
      exact: true,
      line: lineOf(text, 't~x')
    });
    // unescaped, the pointer names other keys, which are missing
    expect(pointerToRange(text, '/initialState/a/b', format)!.exact).toBe(
      false
    );
  });

  it('falls back to the nearest existing parent', () => {
    const missing = pointerToRange(
      text,
      '/workflow/0/logic.../false?',
      format
    )!;
    expect(missing).toMatchObject({ exact: false, line: logic });
    const pastEnd = pointerToRange(text, '/workflow/7/log', format)!;
    expect(pastEnd).toMatchObject({
      exact: false,
      line: lineOf(text, 'workflow')
    });
    // "01" and "-" are not array indexes
    expect(pointerToRange(text, '/workflow/01', format)!.exact).toBe(false);
    expect(pointerToRange(text, '/workflow/-', format)!.exact).toBe(false);
    // a key of a string value, an index of an object: the value itself
    expect(pointerToRange(text, '/name/x', format)).toMatchObject({
      exact: false,
      line: lineOf(text, 'Count to five')
    });
  });

  it('puts the whole document and non-pointers at its start', () => {
    const root = pointerToRange(text, '', format)!;
    expect(root).toMatchObject({ exact: true, line: 1, from: 0 });
    expect(pointerToRange(text, 'id', format)).toMatchObject({
      exact: false,
      line: 1
    });
  });

  it('gives null for a text that does not parse', () => {
    const broken = format === 'json' ? '{"id": ' : 'id: [1, 2\nname: x';
    expect(pointerToRange(broken, '/id', format)).toBeNull();
  });
});

describe('pointerToRange, format specifics', () => {
  it('reads JSON written on one line', () => {
    const text = '{"workflow": [{"log": {"message": 1}}, "x"]}';
    const at = pointerToRange(text, '/workflow/0/log/message', 'json')!;
    expect(text.slice(at.from, at.to)).toBe('"message": 1');
    expect(at.line).toBe(1);
    const x = pointerToRange(text, '/workflow/1', 'json')!;
    expect(text.slice(x.from, x.to)).toBe('"x"');
  });

  it('reads a key written with escapes in JSON', () => {
    const text = '{\n  "a\\u002fb": {\n    "c": 1\n  }\n}';
    expect(pointerToRange(text, '/a~1b/c', 'json')).toMatchObject({
      exact: true,
      line: 3
    });
  });

  it('reads YAML flow collections, comments and aliases', () => {
    const text = [
      '# a comment',
      'id: x',
      'shared: &s',
      '  message: hi',
      'workflow:',
      '  - log: *s',
      '  - [a, b]',
      '  - {"math": {values: [1, 2]}}'
    ].join('\n');
    expect(pointerToRange(text, '/id', 'yaml')!.line).toBe(2);
    // the alias is where it is written; what is inside it, where the anchor defines it
    expect(pointerToRange(text, '/workflow/0/log', 'yaml')).toMatchObject({
      exact: true,
      line: 6
    });
    expect(
      pointerToRange(text, '/workflow/0/log/message', 'yaml')
    ).toMatchObject({ exact: true, line: 4 });
    const b = pointerToRange(text, '/workflow/1/1', 'yaml')!;
    expect(text.slice(b.from, b.to)).toBe('b');
    const two = pointerToRange(text, '/workflow/2/math/values/1', 'yaml')!;
    expect(text.slice(two.from, two.to)).toBe('2');
    expect(two.line).toBe(8);
  });

  it('handles an empty YAML document', () => {
    expect(pointerToRange('\n\n', '/workflow', 'yaml')).toMatchObject({
      exact: false,
      line: 1
    });
  });
});
