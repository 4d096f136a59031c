import { describe, expect, it } from 'vitest';
import {
  parametersOfNotebook,
  parametersOfSource
} from '../src/automations/parameters';

const cell = (
  source: string | string[],
  tags: string[] = ['parameters'],
  cellType = 'code'
) => ({ cell_type: cellType, source, metadata: { tags } });

describe('parametersOfNotebook', () => {
  it('reads the cell tagged parameters, not the others', () => {
    const cells = [
      cell('before = 1', []),
      cell(['alpha = 0.5\n', 'name = "ana"\n']),
      cell('after = 2', ['parameters'])
    ];
    expect(parametersOfNotebook(cells)).toEqual({ alpha: 0.5, name: 'ana' });
  });

  it('is empty without a parameters cell, or with only a markdown one', () => {
    expect(parametersOfNotebook([cell('x = 1', ['other'])])).toEqual({});
    expect(
      parametersOfNotebook([
        { cell_type: 'code', source: 'x = 1', metadata: {} }
      ])
    ).toEqual({});
    expect(
      parametersOfNotebook([
        { cell_type: 'code', source: 'x = 1', metadata: { tags: 'parameters' } }
      ] as any)
    ).toEqual({});
    expect(
      parametersOfNotebook([cell('x = 1', ['parameters'], 'markdown')])
    ).toEqual({});
    expect(parametersOfNotebook([])).toEqual({});
    expect(
      parametersOfNotebook([{ cell_type: 'code', source: 'x = 1' }])
    ).toEqual({});
  });

  it('joins a source given as lines', () => {
    expect(
      parametersOfNotebook([cell(['values = [\n', '  1,\n', '  2,\n', ']\n'])])
    ).toEqual({ values: [1, 2] });
  });
});

describe('parametersOfSource', () => {
  it('turns simple literals into JSON', () => {
    expect(
      parametersOfSource(
        [
          'a = 1',
          'b = -2.5',
          'c = 1e3',
          'd = 0x1F',
          'e = 1_000',
          "f = 'single'",
          'g = "double"',
          'h = True',
          'i = False',
          'j = None',
          'k = [1, "two", None]',
          'l = {"x": 1, "y": [True]}',
          'm = (1, 2)',
          'n = ()',
          'o = (3)',
          'p = +4',
          'q = 0o17',
          'r = 0b101',
          's = .5'
        ].join('\n')
      )
    ).toEqual({
      a: 1,
      b: -2.5,
      c: 1000,
      d: 31,
      e: 1000,
      f: 'single',
      g: 'double',
      h: true,
      i: false,
      j: null,
      k: [1, 'two', null],
      l: { x: 1, y: [true] },
      m: [1, 2],
      n: [],
      o: 3,
      p: 4,
      q: 15,
      r: 5,
      s: 0.5
    });
  });

  it('gives null for what is not a simple literal', () => {
    expect(
      parametersOfSource(
        [
          'call = compute(1)',
          'ref = other',
          'fstr = f"{x}"',
          'data = b"bytes"',
          'cplx = 2j',
          'aset = {1, 2}',
          'expr = 1 + 2',
          'comp = [i for i in range(3)]',
          'neg = -"x"',
          'attr = os.environ["HOME"]',
          'empty_key = {None: 1}',
          'lam = lambda x=1: x'
        ].join('\n')
      )
    ).toEqual({
      call: null,
      ref: null,
      fstr: null,
      data: null,
      cplx: null,
      aset: null,
      expr: null,
      comp: null,
      neg: null,
      attr: null,
      empty_key: null,
      lam: null
    });
  });

  it('ignores comments, blank lines and statements that assign nothing', () => {
    expect(
      parametersOfSource(
        [
          '# the parameters',
          '',
          'import os',
          'x = 1  # the x',
          "s = 'has # inside'",
          'print(x == 2)',
          'x_annotated: int',
          'obj.attr = 3',
          'items[0] = 4',
          'x += 5',
          '   ',
          'if x:',
          '    pass'
        ].join('\n')
      )
    ).toEqual({ x: 1, s: 'has # inside' });
  });

  it('tolerates values spread over several lines', () => {
    const source = [
      'config = {',
      '    "a": 1,  # a comment inside',
      '',
      '    "b": [',
      '        "x",',
      '        "y",',
      '    ],',
      '}',
      'total = 1 + \\',
      '    2',
      'joined = \\',
      '    3',
      'text = """line one',
      "line 'two'",
      '"""',
      'after = "ok"'
    ].join('\n');
    expect(parametersOfSource(source)).toEqual({
      config: { a: 1, b: ['x', 'y'] },
      total: null,
      joined: 3,
      text: "line one\nline 'two'\n",
      after: 'ok'
    });
  });

  it('reads string escapes, prefixes and concatenation', () => {
    expect(
      parametersOfSource(
        [
          String.raw`a = "tab\there\n"`,
          String.raw`b = r"C:\new\dir"`,
          String.raw`c = 'it\'s'`,
          String.raw`d = "\x41\u00e9\U0001F600\101"`,
          `e = 'one' "two"`,
          `f = ('multi'`,
          `     'line')`,
          `g = u"unicode"`,
          String.raw`h = "keeps \d as is"`,
          `i = 'unterminated`,
          `j = 2`
        ].join('\n')
      )
    ).toEqual({
      a: 'tab\there\n',
      b: 'C:\\new\\dir',
      c: "it's",
      d: 'Aé😀A',
      e: 'onetwo',
      f: 'multiline',
      g: 'unicode',
      h: 'keeps \\d as is',
      i: null,
      j: 2
    });
  });

  it('handles several targets, annotations, tuples and semicolons', () => {
    expect(
      parametersOfSource(
        [
          'a = b = 7',
          'c: float = 0.1',
          'd, e = 1, "two"',
          '(f, g) = [3, 4]',
          'h, i = 1, 2, 3',
          'j = 1; k = "x"',
          'l = 1, 2',
          'm = [1,]'
        ].join('\n')
      )
    ).toEqual({
      a: 7,
      b: 7,
      c: 0.1,
      d: 1,
      e: 'two',
      f: 3,
      g: 4,
      h: null,
      i: null,
      j: 1,
      k: 'x',
      l: [1, 2],
      m: [1]
    });
  });

  it('keeps the last assignment of a name, and one left non-literal', () => {
    expect(parametersOfSource('x = 1\nx = 2\ny = 1\ny = f(y)')).toEqual({
      x: 2,
      y: null
    });
  });

  it('never throws on broken Python', () => {
    for (const source of [
      'x = [1, 2',
      'x = ',
      '= 3',
      'x = {"a": }',
      'x = (',
      ')))',
      'x = "\\',
      "x = '''never closed",
      'x = 1 2',
      'x = \\N{BULLET}',
      'x = "\\N{BULLET}"',
      'x = "\\xZZ"',
      '@@@ = $'
    ]) {
      expect(() => parametersOfSource(source)).not.toThrow();
    }
    expect(parametersOfSource('x = [1, 2')).toEqual({ x: null });
    expect(parametersOfSource('x = ')).toEqual({ x: null });
    expect(parametersOfSource('x = 1 2')).toEqual({ x: null });
    expect(parametersOfSource('x = "\\N{BULLET}"')).toEqual({ x: null });
    expect(parametersOfSource('x = "\\xZZ"')).toEqual({ x: null });
  });

  it('reads Windows line ends', () => {
    expect(parametersOfSource('a = 1\r\nb = [\r\n 2\r\n]\r\n')).toEqual({
      a: 1,
      b: [2]
    });
  });
});
