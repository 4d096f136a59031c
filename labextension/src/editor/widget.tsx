/**
 * The editor tab of one workflow: Lab's CodeMirror on the definition (JSON or YAML) with its
 * problems marked at their lines and listed below, the server's drawing of the workflow beside
 * it, its runs under the drawing, and Save / Run / format in the tab's toolbar. The state and
 * every request live in a `WorkflowSession` (session.ts). This file holds the tab and its body's
 * widget; the toolbar is in toolbar.tsx, the editor column in body.tsx, the drawing and runs in
 * sidePanes.tsx and the Run dialog in runDialog.ts.
 */

import * as React from 'react';
import { Dialog, MainAreaWidget, showDialog } from '@jupyterlab/apputils';
import { CodeEditor } from '@jupyterlab/codeeditor';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { CommandIds, IWorkscriptContext } from '../context';
import { workscriptIcon } from '../panel';
import { EditorBody } from './body';
import { initialStateText } from './document';
import { askInitialState } from './runDialog';
import { ISessionState, WorkflowSession } from './session';
import { EditorActions } from './toolbar';

export { askInitialState } from './runDialog';

/** The class of every editor tab (the Accel S key binding's selector). */
export const EDITOR_CLASS = 'jp-Workscript-editor';

let newCounter = 0;

/** The id of the tab of stored workflow `id`. */
export function editorWidgetId(id: string): string {
  return `workscript-workflow-${id}`;
}

/** The tab of one workflow: a stored one, or a new one until its first save. */
export class WorkflowEditorWidget extends MainAreaWidget<EditorContent> {
  constructor(ctx: IWorkscriptContext, workflowId: string | null) {
    const session = new WorkflowSession({
      client: ctx.client,
      socket: ctx.socket,
      trans: ctx.trans,
      workflowId,
      onSaved: () =>
        void ctx.app.commands.execute(CommandIds.recordsChanged, {
          kind: 'workflows'
        })
    });
    const content = new EditorContent(ctx, session);
    super({ content });
    this.session = session;
    this._trans = ctx.trans;
    this.addClass(EDITOR_CLASS);
    this.id =
      workflowId === null
        ? `workscript-workflow-new-${++newCounter}`
        : editorWidgetId(workflowId);
    this.title.icon = workscriptIcon;
    this.title.closable = true;
    this._showTitle(session.state);
    this.toolbar.addItem(
      'workscript-editor-actions',
      ReactWidget.create(
        <EditorActions ctx={ctx} session={session} widget={this} />
      )
    );
    this._removeListener = session.subscribe(state => this._showTitle(state));
    void session.start();
  }

  readonly session: WorkflowSession;

  /** The stored workflow's id; null while a new one is not saved. */
  get workflowId(): string | null {
    return this.session.state.workflowId;
  }

  /** Save (the toolbar's button and Accel S). */
  save(): Promise<boolean> {
    return this.session.save();
  }

  /** Ask for the initial state, save if needed, start the run and open its view. */
  async run(ctx: IWorkscriptContext): Promise<void> {
    const definition = this.session.currentDefinition();
    if (definition === null) {
      return;
    }
    const state = await askInitialState(
      this._trans,
      initialStateText(definition)
    );
    if (state === null || this.isDisposed) {
      return;
    }
    const run = await this.session.run(state);
    if (run !== null) {
      await ctx.app.commands.execute(CommandIds.openRun, { id: run.id });
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._removeListener();
    this.session.dispose();
    super.dispose();
  }

  protected onCloseRequest(msg: Message): void {
    if (!this.session.state.dirty || this._closing) {
      super.onCloseRequest(msg);
      return;
    }
    const trans = this._trans;
    void showDialog({
      title: trans.__('Close without saving?'),
      body: trans.__(
        'The workflow "%1" has unsaved changes.',
        this.title.label
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Discard') })
      ]
    }).then(result => {
      if (result.button.accept && !this.isDisposed) {
        this._closing = true;
        this.close();
      }
    });
  }

  private _showTitle(state: ISessionState): void {
    const trans = this._trans;
    const label =
      state.record?.name ||
      (state.workflowId !== null
        ? trans.__('Workflow')
        : trans.__('New workflow'));
    this.title.label = label;
    this.title.caption = state.workflowId
      ? trans.__('Workflow: %1 (%2)', label, state.workflowId)
      : trans.__('Workflow: %1 (not saved)', label);
    if (state.workflowId !== null) {
      this.id = editorWidgetId(state.workflowId);
    }
    const classes = this.title.className
      .split(/\s+/)
      .filter(name => name && name !== 'jp-mod-dirty');
    if (state.dirty) {
      classes.push('jp-mod-dirty');
    }
    this.title.className = classes.join(' ');
  }

  private readonly _trans: TranslationBundle;
  private readonly _removeListener: () => void;
  private _closing = false;
}

/** The body of the tab: editor, problems, drawing, runs. */
export class EditorContent extends ReactWidget {
  constructor(
    private readonly _ctx: IWorkscriptContext,
    private readonly _session: WorkflowSession
  ) {
    super();
    this.addClass('jp-Workscript-editorContent');
    this.node.tabIndex = -1;
  }

  /** Lab's editor once it is made (null before, and without the editor plugin). */
  editor: CodeEditor.IEditor | null = null;

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (this.editor) {
      this.editor.focus();
    } else {
      this.node.focus();
    }
  }

  protected render(): JSX.Element {
    return (
      <EditorBody ctx={this._ctx} session={this._session} content={this} />
    );
  }
}
