import { EditorState } from '@codemirror/state';
import type { DecorationSet } from '@codemirror/view';
import { describe, expect, it } from 'vitest';
import {
  ERROR_LINE_CLASS,
  errorLinesExtension,
  errorLinesField,
  setErrorLines
} from '../src/editor/errorLines';

/** The marked lines of `state`: [line, tooltip]. */
function marked(state: EditorState): [number, string][] {
  const set: DecorationSet = state.field(errorLinesField);
  const out: [number, string][] = [];
  set.between(0, state.doc.length, (from, _to, decoration) => {
    expect(decoration.spec.class).toBe(ERROR_LINE_CLASS);
    out.push([state.doc.lineAt(from).number, decoration.spec.attributes.title]);
  });
  return out;
}

const DOC = [
  '{',
  '  "id": "x",',
  '  "name": "",',
  '  "workflow": []',
  '}'
].join('\n');

describe('the error line decorations', () => {
  it('marks each line with a problem, once, with its messages', () => {
    let state = EditorState.create({
      doc: DOC,
      extensions: errorLinesExtension()
    });
    expect(marked(state)).toEqual([]);
    state = state.update({
      effects: setErrorLines.of([
        { line: 4, message: 'workflow cannot be empty' },
        { line: 3, message: 'name cannot be empty' },
        { line: 4, message: 'and another' }
      ])
    }).state;
    expect(marked(state)).toEqual([
      [3, 'name cannot be empty'],
      [4, 'workflow cannot be empty\nand another']
    ]);
  });

  it('drops lines the text does not have', () => {
    let state = EditorState.create({
      doc: DOC,
      extensions: errorLinesExtension()
    });
    state = state.update({
      effects: setErrorLines.of([
        { line: 0, message: 'zero' },
        { line: 6, message: 'past the end' },
        { line: 1, message: 'first' }
      ])
    }).state;
    expect(marked(state)).toEqual([[1, 'first']]);
  });

  it('follows the text as it is edited, until replaced', () => {
    let state = EditorState.create({
      doc: DOC,
      extensions: errorLinesExtension()
    });
    state = state.update({
      effects: setErrorLines.of([{ line: 3, message: 'name cannot be empty' }])
    }).state;
    // two lines typed above the mark move it down by two
    state = state.update({
      changes: { from: 1, insert: '\n  "a": 1,\n' }
    }).state;
    expect(marked(state)).toEqual([[5, 'name cannot be empty']]);
    state = state.update({ effects: setErrorLines.of([]) }).state;
    expect(marked(state)).toEqual([]);
  });
});
