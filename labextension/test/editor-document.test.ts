import { describe, expect, it } from 'vitest';
import {
  canonical,
  convertText,
  initialStateText,
  newDefinition,
  parseInitialState,
  parseText,
  recordFields,
  serialize
} from '../src/editor/document';
import { COUNT_TO_FIVE, trans } from './editor-server';

/** The docs' example, plus steps and strings YAML could misread. */
const DOC = {
  ...COUNT_TO_FIVE,
  workflow: [
    ...COUNT_TO_FIVE.workflow,
    'log',
    { '$.flag': true },
    { '$.none': null }
  ],
  odd: ['yes', 'no', 'on', '1.0', '', 'a\nb', '#not a comment', '- x', 'null']
};

describe('the template of a new workflow', () => {
  it('has what the workflow language requires (docs/workflow-language.md §1)', () => {
    const definition = newDefinition('lx3k9a');
    expect(definition.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(definition.id).toBe('workflow-lx3k9a');
    expect(typeof definition.name).toBe('string');
    expect(definition.name!.length).toBeGreaterThan(0);
    expect(definition.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(definition.initialState).toEqual({});
    expect(Array.isArray(definition.workflow)).toBe(true);
    expect(definition.workflow.length).toBeGreaterThan(0);
    // every step: one key, a node type, with an object config and no null parameter
    for (const step of definition.workflow) {
      expect(Object.keys(step as object)).toHaveLength(1);
      const [config] = Object.values(step as object);
      expect(Object.values(config).includes(null)).toBe(false);
    }
    expect(definition.workflow).toEqual([{ log: { message: 'hello' } }]);
  });

  it('keeps its id legal whatever the suffix', () => {
    expect(newDefinition('a b/c~d').id).toBe('workflow-abcd');
    expect(newDefinition('').id).toBe('workflow');
    expect(newDefinition('x'.repeat(100)).id).toBe(
      `workflow-${'x'.repeat(24)}`
    );
  });

  it('reads back as itself in both formats', () => {
    for (const format of ['json', 'yaml'] as const) {
      const parsed = parseText(
        serialize(newDefinition('t'), format),
        format,
        trans
      );
      expect(parsed).toEqual({ ok: true, definition: newDefinition('t') });
    }
  });
});

describe('parseText', () => {
  it('reads JSON and YAML into the same definition', () => {
    for (const format of ['json', 'yaml'] as const) {
      const parsed = parseText(serialize(DOC, format), format, trans);
      expect(parsed.ok && parsed.definition).toEqual(DOC);
    }
  });

  it('places a JSON syntax error at its own line', () => {
    const text = '{\n  "id": "x",\n  "name": "y"\n  "version": "1.0.0"\n}';
    const parsed = parseText(text, 'json', trans);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem.line).toBe(4);
      expect(parsed.problem.message).toContain('","');
      expect(text[parsed.problem.from]).toBe('"');
    }
  });

  it('marks one character at a JSON fault, none past the end of the text', () => {
    const cut = parseText('{\n  "id": "x",', 'json', trans);
    expect(!cut.ok && cut.problem).toMatchObject({ line: 2, from: 14, to: 14 });
    const stray = parseText('{}\n]', 'json', trans);
    expect(!stray.ok && stray.problem).toMatchObject({
      line: 2,
      from: 3,
      to: 4
    });
    const array = parseText('\n [1]', 'json', trans);
    expect(!array.ok && array.problem).toMatchObject({
      line: 2,
      from: 2,
      to: 3
    });
  });

  it('refuses what JSON.parse refuses even when YAML would take it', () => {
    for (const text of ["{'id': 'x'}", '{"id": "x",}', '{id: x}', '# c\n{}']) {
      expect(parseText(text, 'json', trans).ok, text).toBe(false);
      expect(parseText(text, 'yaml', trans).ok, text).toBe(true);
    }
  });

  it('places a YAML syntax error at its own line', () => {
    const text = 'id: x\nname: y\nworkflow: [1, 2\nversion: 1.0.0\n';
    const parsed = parseText(text, 'yaml', trans);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem.line).toBeGreaterThanOrEqual(3);
      expect(parsed.problem.message).toMatch(/^YAML: /);
    }
    const duplicate = parseText('id: x\nid: y\n', 'yaml', trans);
    expect(duplicate.ok ? 0 : duplicate.problem.line).toBe(2);
    const two = parseText('id: x\n---\nid: y\n', 'yaml', trans);
    expect(two.ok).toBe(false);
  });

  it('refuses a document that is not an object, at its first line', () => {
    for (const [text, format, kind] of [
      ['[1]', 'json', 'an array'],
      ['\n\n"x"', 'json', 'a string'],
      ['- a\n- b', 'yaml', 'an array'],
      ['', 'yaml', 'null'],
      ['42', 'yaml', 'a number']
    ] as const) {
      const parsed = parseText(text, format, trans);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) {
        expect(parsed.problem.message).toContain(kind);
        expect(parsed.problem.line).toBe(text.startsWith('\n\n') ? 3 : 1);
      }
    }
  });

  it('refuses a YAML alias bomb instead of expanding it', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const prev = `*a${i - 1}`;
      lines.push(`a${i}: &a${i} [${Array(10).fill(prev).join(', ')}]`);
    }
    const parsed = parseText(lines.join('\n'), 'yaml', trans);
    expect(parsed.ok).toBe(false);
  });
});

describe('convertText', () => {
  it('switches formats without changing the definition', () => {
    const json = serialize(DOC, 'json');
    const yaml = convertText(json, 'json', 'yaml', trans);
    expect(yaml.ok).toBe(true);
    if (yaml.ok) {
      expect(yaml.text).not.toContain('{\n');
      const back = convertText(yaml.text, 'yaml', 'json', trans);
      expect(back).toEqual({ ok: true, text: json });
    }
  });

  it('refuses a text with a syntax error', () => {
    const converted = convertText('{"id": ', 'json', 'yaml', trans);
    expect(converted.ok).toBe(false);
  });

  it('leaves the text alone when the format is the same', () => {
    const text = '{"id":"x"}';
    expect(convertText(text, 'json', 'json', trans)).toEqual({
      ok: true,
      text
    });
  });
});

describe('canonical and recordFields', () => {
  it('tells a changed definition from a reformatted one', () => {
    const again = parseText(serialize(DOC, 'yaml'), 'yaml', trans);
    expect(again.ok && canonical(again.definition)).toBe(canonical(DOC));
    expect(canonical({ ...DOC, name: 'other' })).not.toBe(canonical(DOC));
  });

  it('takes name, version and description from the definition', () => {
    expect(recordFields({ ...DOC, description: 'd', workflow: [] })).toEqual({
      name: 'Count to five',
      version: '1.0.0',
      description: 'd'
    });
    // no description: the stored one is emptied; no name: the server's rule applies
    expect(recordFields({ workflow: [] })).toEqual({ description: '' });
    expect(recordFields({ name: 3, workflow: [] } as any)).toEqual({
      description: ''
    });
  });
});

describe('parseInitialState', () => {
  it('takes a JSON object, and empty text as {}', () => {
    expect(parseInitialState('{"a": [1]}', trans)).toEqual({
      ok: true,
      state: { a: [1] }
    });
    expect(parseInitialState('  \n', trans)).toEqual({ ok: true, state: {} });
  });

  it('refuses anything else with a reason', () => {
    const bad = parseInitialState('{\n "a": 1,\n}', trans);
    expect(bad).toEqual({
      ok: false,
      message: expect.stringMatching(/^Line 3: /)
    });
    for (const text of ['[1]', '"x"', 'null', '3']) {
      const result = parseInitialState(text, trans);
      expect(result.ok, text).toBe(false);
      expect(result.ok ? '' : result.message).toMatch(/must be a JSON object/);
    }
  });

  it("offers the definition's own initial state", () => {
    expect(JSON.parse(initialStateText(DOC as any))).toEqual({ i: 0 });
    expect(initialStateText(null)).toBe('{}');
    expect(initialStateText({ workflow: [], initialState: [1] as any })).toBe(
      '{}'
    );
  });
});

describe('JSON syntax messages', () => {
  it('name the character found', () => {
    const message = (text: string) => {
      const parsed = parseText(text, 'json', trans);
      return parsed.ok ? '' : parsed.problem.message;
    };
    expect(message('{"a" 1}')).toBe(
      `Unexpected '1': ":" was expected after the name.`
    );
    expect(message('{"a": 1\n"b": 2}')).toBe(
      `Unexpected '"': "," or "}" was expected.`
    );
    expect(message('{"a": 1 é}')).toBe(
      'Unexpected "é": "," or "}" was expected.'
    );
    expect(message('[1,\n')).toBe(
      'The JSON ends too early (something is not closed).'
    );
  });
});
