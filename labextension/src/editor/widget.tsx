/**
 * The editor tab of one workflow: Lab's CodeMirror on the definition (JSON or YAML) with its
 * problems marked at their lines and listed below, the server's drawing of the workflow beside
 * it, its runs under the drawing, and Save / Run / format in the tab's toolbar. The state and
 * every request live in a `WorkflowSession` (session.ts); this file only renders and binds.
 */

import * as React from 'react';
import { Dialog, MainAreaWidget, showDialog } from '@jupyterlab/apputils';
import { CodeEditor } from '@jupyterlab/codeeditor';
import type { CodeMirrorEditor } from '@jupyterlab/codemirror';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  ReactWidget,
  runIcon,
  saveIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import type { IExecutionSummary } from '../api';
import {
  describeError,
  ErrorState,
  formatDuration,
  formatTime,
  onActivate
} from '../common';
import { CommandIds, IWorkscriptContext } from '../context';
import { workscriptIcon } from '../panel';
import {
  initialStateText,
  MIME_TYPES,
  parseInitialState,
  TextFormat
} from './document';
import { errorLinesExtension, setErrorLines } from './errorLines';
import { offsetOfLine } from './pointers';
import { ISessionState, WorkflowSession } from './session';
import type { IIssueAt } from './validation';

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

function useSessionState(session: WorkflowSession): ISessionState {
  return React.useSyncExternalStore(
    React.useCallback(listener => session.subscribe(listener), [session]),
    () => session.state
  );
}

function EditorActions(props: {
  ctx: IWorkscriptContext;
  session: WorkflowSession;
  widget: WorkflowEditorWidget;
}): JSX.Element {
  const { ctx, session, widget } = props;
  const trans = ctx.trans;
  const state = useSessionState(session);
  // the toolbar acts only on a read workflow, and one thing at a time
  const enabled = state.load === 'ready' && state.busy === null;
  const other: TextFormat = state.format === 'json' ? 'yaml' : 'json';
  return (
    <div className="jp-Workscript-editorActions">
      <ToolbarButtonComponent
        icon={saveIcon}
        label={trans.__('Save')}
        tooltip={trans.__('Save the workflow (Accel S)')}
        enabled={enabled}
        onClick={() => void widget.save()}
        dataset={{ testid: 'workscript-editor-save' }}
      />
      <ToolbarButtonComponent
        icon={runIcon}
        label={trans.__('Run')}
        tooltip={trans.__('Run the workflow with an initial state')}
        enabled={enabled}
        onClick={() => void widget.run(ctx)}
        dataset={{ testid: 'workscript-editor-run' }}
      />
      <ToolbarButtonComponent
        label={trans.__(
          'Format: %1',
          state.format === 'json' ? 'JSON' : 'YAML'
        )}
        tooltip={
          other === 'yaml'
            ? trans.__('Show the workflow as YAML')
            : trans.__('Show the workflow as JSON')
        }
        enabled={enabled}
        onClick={() => session.setFormat(other)}
        dataset={{ testid: 'workscript-editor-format', format: state.format }}
      />
      <CheckStatus state={state} trans={trans} />
    </div>
  );
}

function CheckStatus(props: {
  state: ISessionState;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { state, trans } = props;
  if (state.load !== 'ready') {
    return null;
  }
  const { phase, issues, error } = state.check;
  let text: string;
  switch (phase) {
    case 'pending':
    case 'checking':
      text = trans.__('Checking…');
      break;
    case 'syntax':
      text = trans.__('Syntax error');
      break;
    case 'invalid':
      text = trans._n('%1 problem', '%1 problems', issues.length);
      break;
    case 'valid':
      text = trans.__('Valid');
      break;
    case 'failed':
      text = trans.__('Not checked: %1', describeError(error, trans));
      break;
  }
  const busy =
    state.busy === 'saving'
      ? trans.__('Saving…')
      : state.busy === 'running'
        ? trans.__('Starting the run…')
        : null;
  return (
    <span
      className={`jp-Workscript-editorStatus jp-Workscript-editorStatus-${phase}`}
      role="status"
      aria-live="polite"
      data-testid="workscript-editor-status"
      data-phase={phase}
    >
      {busy ?? text}
    </span>
  );
}

/** What the parts of the tab's body draw from. */
interface IPaneProps {
  ctx: IWorkscriptContext;
  session: WorkflowSession;
  content: EditorContent;
}

function EditorBody(props: IPaneProps): JSX.Element {
  const { ctx, session, content } = props;
  const trans = ctx.trans;
  const state = useSessionState(session);
  if (state.load === 'loading') {
    return (
      <div className="jp-Workscript-state" role="status" aria-live="polite">
        {trans.__('Loading the workflow…')}
      </div>
    );
  }
  if (state.load === 'failed') {
    const gone =
      (state.loadError as { status?: number } | null)?.status === 404;
    return (
      <ErrorState
        message={
          gone
            ? trans.__(
                'This workflow does not exist: it may have been deleted.'
              )
            : trans.__(
                'The workflow could not be read: %1',
                describeError(state.loadError, trans)
              )
        }
        trans={trans}
        onRetry={() => void session.reload()}
        testId="workscript-editor-load-error"
      />
    );
  }
  return (
    <div className="jp-Workscript-editorBody">
      <div className="jp-Workscript-editorMain">
        <Notice session={session} state={state} trans={trans} />
        <CodePane ctx={ctx} session={session} content={content} />
        <IssueList
          state={state}
          trans={trans}
          onPick={issue => moveTo(content, state.text, issue)}
        />
      </div>
      <div className="jp-Workscript-editorSide">
        <GraphPane state={state} trans={trans} />
        <History ctx={ctx} session={session} state={state} />
      </div>
    </div>
  );
}

function Notice(props: {
  session: WorkflowSession;
  state: ISessionState;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { notice } = props.state;
  if (notice === null) {
    return null;
  }
  return (
    <div
      className={`jp-Workscript-editorNotice jp-Workscript-editorNotice-${notice.kind}`}
      role={notice.kind === 'error' ? 'alert' : 'status'}
      data-testid="workscript-editor-notice"
    >
      <span>{notice.message}</span>
      <button
        className="jp-Workscript-button"
        onClick={() => props.session.dismissNotice()}
        aria-label={props.trans.__('Dismiss')}
        title={props.trans.__('Dismiss')}
      >
        ×
      </button>
    </div>
  );
}

/** Lab's CodeMirror editor, bound to the session's text (a textarea without the plugin). */
function CodePane(props: IPaneProps): JSX.Element {
  const { ctx, session, content } = props;
  const trans = ctx.trans;
  const host = React.useRef<HTMLDivElement>(null);
  const factory = ctx.editorServices?.factoryService ?? null;
  const state = useSessionState(session);
  const issues = state.check.issues;

  React.useEffect(() => {
    if (factory === null || host.current === null) {
      return;
    }
    const model = new CodeEditor.Model({
      mimeType: MIME_TYPES[session.state.format]
    });
    model.sharedModel.setSource(session.state.text);
    const editor = factory.newDocumentEditor({
      host: host.current,
      model,
      config: { lineNumbers: true, lineWrap: false }
    });
    const cm = codeMirrorOf(editor);
    cm?.injectExtension(errorLinesExtension());
    // the text box itself carries the name (a label on its host reads as nothing)
    cm?.editor.contentDOM.setAttribute(
      'aria-label',
      trans.__('Workflow definition')
    );
    const onChange = () => session.setText(model.sharedModel.getSource());
    model.sharedModel.changed.connect(onChange);
    const removeReplaced = session.onTextReplaced((text, format) => {
      model.mimeType = MIME_TYPES[format];
      if (model.sharedModel.getSource() !== text) {
        cm?.editor.dispatch({ effects: setErrorLines.of([]) });
        model.sharedModel.setSource(text);
      }
    });
    content.editor = editor;
    return () => {
      content.editor = null;
      removeReplaced();
      model.sharedModel.changed.disconnect(onChange);
      editor.dispose();
      model.dispose();
    };
  }, [factory, session, content, trans]);

  React.useEffect(() => {
    const cm = content.editor ? codeMirrorOf(content.editor) : null;
    cm?.editor.dispatch({
      effects: setErrorLines.of(
        issues.map(issue => ({ line: issue.line, message: issue.message }))
      )
    });
  }, [issues, content]);

  if (factory === null) {
    return (
      <textarea
        className="jp-Workscript-editorFallback"
        data-testid="workscript-editor-text"
        aria-label={trans.__('Workflow definition')}
        spellCheck={false}
        value={state.text}
        onChange={e => session.setText(e.target.value)}
      />
    );
  }
  return (
    <div
      ref={host}
      className="jp-Workscript-editorHost"
      data-testid="workscript-editor-text"
      data-format={state.format}
      aria-label={trans.__('Workflow definition')}
    />
  );
}

function codeMirrorOf(editor: CodeEditor.IEditor): CodeMirrorEditor | null {
  const cm = editor as Partial<CodeMirrorEditor>;
  return typeof cm.injectExtension === 'function' && cm.editor
    ? (editor as CodeMirrorEditor)
    : null;
}

/** Put the cursor on `issue`'s place and show it. */
function moveTo(content: EditorContent, text: string, issue: IIssueAt): void {
  const editor = content.editor;
  if (editor) {
    const position = {
      line: issue.line - 1,
      column: Math.max(0, issue.from - offsetOfLine(text, issue.line))
    };
    editor.setCursorPosition(position);
    editor.revealPosition(position);
    editor.focus();
    return;
  }
  const area = content.node.querySelector('textarea');
  if (area) {
    area.focus();
    area.setSelectionRange(issue.from, issue.to);
  }
}

function IssueList(props: {
  state: ISessionState;
  trans: TranslationBundle;
  onPick: (issue: IIssueAt) => void;
}): JSX.Element | null {
  const { state, trans } = props;
  const { issues, phase } = state.check;
  if (phase === 'failed') {
    return (
      <div
        className="jp-Workscript-editorErrors jp-Workscript-error"
        role="alert"
        data-testid="workscript-editor-errors"
      >
        {trans.__(
          'The workflow could not be checked: %1',
          describeError(state.check.error, trans)
        )}
      </div>
    );
  }
  if (issues.length === 0) {
    return null;
  }
  return (
    <ul
      className="jp-Workscript-editorErrors"
      aria-label={trans.__('Problems')}
      data-testid="workscript-editor-errors"
    >
      {issues.map((issue, i) => (
        <li
          key={`${i}:${issue.line}:${issue.path ?? ''}`}
          className="jp-Workscript-editorError"
          data-line={issue.line}
          data-code={issue.code}
          title={issue.path ?? undefined}
          {...onActivate(() => props.onPick(issue))}
        >
          {trans.__('Line %1: %2', issue.line, issue.message)}
        </li>
      ))}
    </ul>
  );
}

/** An object URL of `svg` (an <img> cannot run the script an SVG might carry). */
function useSvgUrl(svg: string | null): string | null {
  const [url, setUrl] = React.useState<string | null>(null);
  React.useEffect(() => {
    if (svg === null) {
      setUrl(null);
      return;
    }
    const made = URL.createObjectURL(
      new Blob([svg], { type: 'image/svg+xml' })
    );
    setUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [svg]);
  return url;
}

function GraphPane(props: {
  state: ISessionState;
  trans: TranslationBundle;
}): JSX.Element {
  const { state, trans } = props;
  const { svg, svgCurrent, graphError, phase } = state.check;
  const url = useSvgUrl(svg);
  let note: string | null = null;
  if (graphError && !svgCurrent) {
    note = trans.__(
      'The drawing could not be made: %1',
      describeError(graphError, trans)
    );
  } else if (svg !== null && !svgCurrent && phase !== 'pending') {
    note =
      phase === 'valid' || phase === 'checking'
        ? trans.__('Drawing…')
        : trans.__('The drawing shows the last valid version.');
  } else if (svg === null) {
    note =
      phase === 'valid' || phase === 'checking' || phase === 'pending'
        ? trans.__('Drawing…')
        : trans.__('The drawing appears once the workflow is valid.');
  }
  return (
    <section
      className="jp-Workscript-editorGraph"
      aria-label={trans.__('Workflow graph')}
      data-testid="workscript-editor-graph"
      data-current={svgCurrent ? 'true' : 'false'}
    >
      <h3 className="jp-Workscript-sectionTitle">{trans.__('Graph')}</h3>
      {note !== null && (
        <div
          className={`jp-Workscript-state${graphError && !svgCurrent ? ' jp-Workscript-error' : ''}`}
          role="status"
        >
          {note}
        </div>
      )}
      {url !== null && (
        <div
          className={`jp-Workscript-editorGraphImage${svgCurrent ? '' : ' jp-mod-stale'}`}
        >
          <img src={url} alt={trans.__('Graph of the workflow')} />
        </div>
      )}
    </section>
  );
}

function History(props: {
  ctx: IWorkscriptContext;
  session: WorkflowSession;
  state: ISessionState;
}): JSX.Element {
  const { ctx, session, state } = props;
  const trans = ctx.trans;
  const { items, loading, error } = state.history;
  const open = (run: IExecutionSummary) =>
    void ctx.app.commands.execute(CommandIds.openRun, { id: run.id });
  let body: JSX.Element | null = null;
  if (state.workflowId === null) {
    body = (
      <div className="jp-Workscript-state">
        {trans.__('Its runs appear here once the workflow is saved.')}
      </div>
    );
  } else if (error) {
    body = (
      <ErrorState
        message={describeError(error, trans)}
        trans={trans}
        onRetry={() => void session.refreshHistory()}
      />
    );
  } else if (items.length === 0) {
    body = (
      <div className="jp-Workscript-state" role="status">
        {loading ? trans.__('Loading…') : trans.__('No runs yet.')}
      </div>
    );
  }
  return (
    <section
      className="jp-Workscript-editorHistory"
      aria-label={trans.__('Runs of this workflow')}
      data-testid="workscript-editor-history"
    >
      <h3 className="jp-Workscript-sectionTitle">{trans.__('Runs')}</h3>
      {body}
      {items.length > 0 && (
        <ul
          className="jp-Workscript-list"
          aria-label={trans.__('Runs of this workflow')}
          aria-live="polite"
        >
          {items.map(run => (
            <li
              key={run.id}
              className="jp-Workscript-item"
              data-run-id={run.id}
              data-status={run.status}
              aria-label={trans.__(
                'Run %1, %2, %3',
                run.id,
                run.status,
                formatTime(run.startedAt ?? run.createdAt)
              )}
              {...onActivate(() => open(run))}
            >
              <span
                className={`jp-Workscript-status jp-Workscript-status-${run.status}`}
              >
                {run.status}
              </span>
              <span className="jp-Workscript-name">
                {formatTime(run.startedAt ?? run.createdAt)}
              </span>
              <span className="jp-Workscript-meta">
                {[run.trigger, formatDuration(run.durationMs)]
                  .filter(Boolean)
                  .join(' · ')}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

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
