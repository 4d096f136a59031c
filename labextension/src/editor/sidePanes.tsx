/** The editor tab's side column: the server's drawing of the workflow and its runs. */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IExecutionSummary } from '../api';
import {
  describeError,
  ErrorState,
  formatDuration,
  formatTime,
  onActivate
} from '../common';
import { CommandIds, IWorkscriptContext } from '../context';
import type { ISessionState, WorkflowSession } from './session';

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

export function GraphPane(props: {
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

export function History(props: {
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
