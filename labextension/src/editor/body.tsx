/** The editor tab's main column: the notice, Lab's editor on the definition and its problems. */

import * as React from 'react';
import { CodeEditor } from '@jupyterlab/codeeditor';
import type { CodeMirrorEditor } from '@jupyterlab/codemirror';
import type { TranslationBundle } from '@jupyterlab/translation';
import { describeError, ErrorState, onActivate } from '../common';
import type { IWorkscriptContext } from '../context';
import { MIME_TYPES } from './document';
import { errorLinesExtension, setErrorLines } from './errorLines';
import { offsetOfLine } from './pointers';
import type { ISessionState, WorkflowSession } from './session';
import { useSessionState } from './sessionState';
import { GraphPane, History } from './sidePanes';
import type { IIssueAt } from './validation';
import type { EditorContent } from './widget';

/** What the parts of the tab's body draw from. */
interface IPaneProps {
  ctx: IWorkscriptContext;
  session: WorkflowSession;
  content: EditorContent;
}

export function EditorBody(props: IPaneProps): JSX.Element {
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
