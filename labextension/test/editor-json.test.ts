import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, scanJson } from '../src/editor/jsonSource';

const VALID = [
  '{}',
  '[]',
  ' \t\r\n{ "a" : [ 1 , -2.5e+3 , 0 , 0.0 , 1E9 , true , false , null ] } \n',
  '"just a string"',
  '-0',
  '{"a": {"b": {"c": []}}, "d": "\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00"}',
  '{"a": 1, "a": 2}',
  '{"__proto__": {"x": 1}}',
  '["é", "😀", "\u2028"]'
];

const INVALID: [string, string, number][] = [
  // text, code, offset
  ['', 'empty', 0],
  ['   ', 'empty', 3],
  ['{"a": }', 'unexpected-char', 6],
  ['{"a": 1,}', 'expected-key', 8],
  ["{'a': 1}", 'expected-key', 1],
  ['{a: 1}', 'expected-key', 1],
  ['{"a" 1}', 'expected-colon', 5],
  ['{"a": 1\n"b": 2}', 'expected-comma-or-brace', 8],
  ['[1 2]', 'expected-comma-or-bracket', 3],
  ['[1, 2', 'unexpected-end', 5],
  ['{"a": tru}', 'unexpected-char', 6],
  ['{"a": "x', 'unterminated-string', 6],
  ['{"a": "x\ny"}', 'unterminated-string', 8],
  ['{"a": "x\ty"}', 'control-char', 8],
  ['{"a": "\\x"}', 'bad-escape', 7],
  ['{"a": "\\u12G4"}', 'bad-escape', 7],
  ['[01]', 'bad-number', 2],
  ['[1.]', 'bad-number', 2],
  ['[-]', 'bad-number', 1],
  ['[1e]', 'bad-number', 2],
  ['[+1]', 'unexpected-char', 1],
  ['[.5]', 'unexpected-char', 1],
  ['[NaN]', 'unexpected-char', 1],
  ['{"a": 1} x', 'trailing-content', 9],
  ['{"a": 1} // note', 'trailing-content', 9],
  ['{"a": 1', 'unexpected-end', 7]
];

describe('scanJson', () => {
  it('accepts exactly what JSON.parse accepts', () => {
    for (const text of VALID) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(scanJson(text).ok, text).toBe(true);
    }
    for (const [text] of INVALID) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(scanJson(text).ok, text).toBe(false);
    }
  });

  it('says what is wrong and where', () => {
    for (const [text, code, offset] of INVALID) {
      const scan = scanJson(text);
      expect(scan.ok ? null : scan.error, text).toMatchObject({ code, offset });
    }
    const scan = scanJson('{"a": tru}');
    expect(scan.ok ? null : scan.error.found).toBe('t');
  });

  it('records the range of each value and of each member', () => {
    const text = '{"a": [10, {"b": "x"}], "c\\u002fd": null}';
    const scan = scanJson(text);
    if (!scan.ok) {
      throw new Error('should parse');
    }
    const a = scan.root.entries!.get('a')!;
    expect(text.slice(a.start, a.end)).toBe('"a": [10, {"b": "x"}]');
    expect(text.slice(a.node.start, a.node.end)).toBe('[10, {"b": "x"}]');
    const ten = a.node.items![0];
    expect(text.slice(ten.start, ten.end)).toBe('10');
    const b = a.node.items![1].entries!.get('b')!;
    expect(text.slice(b.node.start, b.node.end)).toBe('"x"');
    // keys are read unescaped
    expect(scan.root.entries!.has('c/d')).toBe(true);
  });

  it('keeps the last of repeated keys, as JSON.parse does', () => {
    const text = '{"a": 1, "a": 22}';
    const scan = scanJson(text);
    if (!scan.ok) {
      throw new Error('should parse');
    }
    const a = scan.root.entries!.get('a')!;
    expect(text.slice(a.node.start, a.node.end)).toBe('22');
  });

  it('refuses nesting past its limit instead of overflowing the stack', () => {
    const deep =
      '['.repeat(MAX_JSON_DEPTH + 2) + ']'.repeat(MAX_JSON_DEPTH + 2);
    const scan = scanJson(deep);
    expect(scan.ok ? null : scan.error.code).toBe('too-deep');
    const fine = '['.repeat(100) + ']'.repeat(100);
    expect(scanJson(fine).ok).toBe(true);
  });
});
