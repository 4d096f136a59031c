/** The editor tab's toolbar: Save, Run, the format switch and the check's status. */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  runIcon,
  saveIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import { describeError } from '../common';
import type { IWorkscriptContext } from '../context';
import type { TextFormat } from './document';
import type { ISessionState, WorkflowSession } from './session';
import { useSessionState } from './sessionState';
import type { WorkflowEditorWidget } from './widget';

export function EditorActions(props: {
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
