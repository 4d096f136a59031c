/**
 * The CodeMirror 6 extension that marks the lines of a workflow's problems: a line decoration
 * (class `jp-Workscript-errorLine`, the messages as its tooltip) per line with a problem. The
 * marks follow the text as it is edited until the next check replaces them. `@codemirror/state`
 * and `@codemirror/view` are Lab's own shared instances, so this field lives in Lab's editor.
 */

import { RangeSetBuilder, StateEffect, StateField } from '@codemirror/state';
import type { EditorState, Extension } from '@codemirror/state';
import { Decoration, EditorView } from '@codemirror/view';
import type { DecorationSet } from '@codemirror/view';

/** One marked line: 1-based, and what is wrong there. */
export interface IErrorLine {
  line: number;
  message: string;
}

export const ERROR_LINE_CLASS = 'jp-Workscript-errorLine';

/** Replace the marked lines (an empty list clears them). */
export const setErrorLines = StateEffect.define<readonly IErrorLine[]>();

/** The decorations of `lines` in `state`'s document; lines past its end are dropped. */
export function errorDecorations(
  state: EditorState,
  lines: readonly IErrorLine[]
): DecorationSet {
  const byLine = new Map<number, string[]>();
  for (const { line, message } of lines) {
    if (line >= 1 && line <= state.doc.lines) {
      byLine.set(line, [...(byLine.get(line) ?? []), message]);
    }
  }
  const builder = new RangeSetBuilder<Decoration>();
  for (const line of [...byLine.keys()].sort((a, b) => a - b)) {
    const messages = byLine.get(line) ?? [];
    builder.add(
      state.doc.line(line).from,
      state.doc.line(line).from,
      Decoration.line({
        class: ERROR_LINE_CLASS,
        attributes: {
          title: messages.join('\n'),
          'data-workscript-error': String(messages.length)
        }
      })
    );
  }
  return builder.finish();
}

export const errorLinesField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(decorations, transaction) {
    let next = decorations.map(transaction.changes);
    for (const effect of transaction.effects) {
      if (effect.is(setErrorLines)) {
        next = errorDecorations(transaction.state, effect.value);
      }
    }
    return next;
  },
  provide: field => EditorView.decorations.from(field)
});

/** The extension to inject in an editor (CodeMirrorEditor.injectExtension). */
export function errorLinesExtension(): Extension {
  return errorLinesField;
}
