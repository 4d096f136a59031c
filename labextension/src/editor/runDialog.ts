/** The Run dialog: asks for the initial state of a run until it is a JSON object. */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { parseInitialState } from './document';

/** The body of the Run dialog: the initial state as JSON, and why it was refused. */
class InitialStateBody extends Widget implements Dialog.IBodyWidget<string> {
  constructor(trans: TranslationBundle, text: string, problem: string | null) {
    super();
    this.addClass('jp-Workscript-runDialog');
    const label = document.createElement('label');
    label.textContent = trans.__('Initial state (a JSON object)');
    this._area = document.createElement('textarea');
    this._area.className = 'jp-Workscript-runState';
    this._area.value = text;
    this._area.rows = 10;
    this._area.spellcheck = false;
    this._area.setAttribute('aria-label', trans.__('Initial state'));
    this._area.setAttribute('data-testid', 'workscript-editor-run-state');
    label.appendChild(this._area);
    this.node.appendChild(label);
    if (problem !== null) {
      const error = document.createElement('div');
      error.className = 'jp-Workscript-error';
      error.setAttribute('role', 'alert');
      error.textContent = problem;
      this.node.appendChild(error);
      this._area.setAttribute('aria-invalid', 'true');
    }
  }

  getValue(): string {
    return this._area.value;
  }

  private readonly _area: HTMLTextAreaElement;
}

/** The initial state of a run, asked until it is a JSON object; null when cancelled. */
export async function askInitialState(
  trans: TranslationBundle,
  text: string
): Promise<Record<string, unknown> | null> {
  let problem: string | null = null;
  for (;;) {
    const result = await showDialog({
      title: trans.__('Run the workflow'),
      body: new InitialStateBody(trans, text, problem),
      focusNodeSelector: 'textarea',
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Run') })
      ]
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    text = result.value;
    const parsed = parseInitialState(text, trans);
    if (parsed.ok) {
      return parsed.state;
    }
    problem = parsed.message;
  }
}
