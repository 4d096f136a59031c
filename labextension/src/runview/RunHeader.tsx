/**
 * The top of the run view: what shows before a run is read (loading, not found, an error),
 * and the header (status, workflow, trigger, times, Cancel / Rerun / Refresh).
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IExecution } from '../api';
import {
  describeError,
  ErrorState,
  formatDuration,
  formatTime
} from '../common';
import { CommandIds } from '../context';
import {
  isFinal,
  isNotFound,
  isServerDown,
  IRunViewState,
  RunModel
} from './model';
import { ActionError, Facts, IRunViewProps } from './RunParts';

/** Loading, not found, server down or another error: what shows before a run is read. */
export function LoadState(props: {
  state: IRunViewState;
  model: RunModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { state, model, trans } = props;
  if (state.loadError === null || state.loadError === undefined) {
    return (
      <div
        className="jp-Workscript-state"
        role="status"
        aria-live="polite"
        data-testid="workscript-run-loading"
      >
        {trans.__('Loading run %1…', model.executionId)}
      </div>
    );
  }
  if (isNotFound(state.loadError)) {
    return (
      <div
        className="jp-Workscript-state jp-Workscript-runNotFound"
        role="alert"
        data-testid="workscript-run-not-found"
      >
        <p>
          {trans.__(
            'Run %1 was not found: it was deleted, or it is not yours.',
            model.executionId
          )}
        </p>
      </div>
    );
  }
  return (
    <ErrorState
      message={
        isServerDown(state.loadError)
          ? trans.__(
              'The run could not be read: %1 It is tried again every few seconds.',
              describeError(state.loadError, trans)
            )
          : trans.__(
              'The run could not be read: %1',
              describeError(state.loadError, trans)
            )
      }
      trans={trans}
      onRetry={() => void model.load()}
      retryDisabled={state.loading}
      testId="workscript-run-load-error"
      retryTestId="workscript-run-retry"
    />
  );
}

export function Header(
  props: IRunViewProps & { state: IRunViewState; run: IExecution; now: number }
): JSX.Element {
  const { state, run, model, now } = props;
  const { app, trans } = props.ctx;
  const final = isFinal(run.status);
  const duration =
    run.durationMs ??
    (run.startedAt && !final
      ? Math.max(0, now - Date.parse(run.startedAt))
      : null);
  const liveNodes = state.liveTimeline.length;
  const canOpenWorkflow =
    run.workflowId !== null && app.commands.hasCommand(CommandIds.openWorkflow);
  const workflowText = state.workflowName ?? run.workflowId;
  const facts: [string, React.ReactNode][] = [
    [trans.__('Run'), <code key="id">{run.id}</code>],
    [
      trans.__('Workflow'),
      run.workflowId === null ? (
        trans.__('(none)')
      ) : canOpenWorkflow ? (
        <button
          key="wf"
          type="button"
          className="jp-Workscript-linkButton"
          title={trans.__('Open workflow %1', run.workflowId)}
          onClick={() =>
            void app.commands.execute(CommandIds.openWorkflow, {
              id: run.workflowId
            })
          }
        >
          {workflowText}
        </button>
      ) : (
        workflowText
      )
    ],
    [trans.__('Trigger'), run.trigger],
    [trans.__('Started'), formatTime(run.startedAt)],
    [trans.__('Duration'), formatDuration(duration) || '—'],
    [
      trans.__('Nodes'),
      String(final ? run.nodeRuns : Math.max(run.nodeRuns, liveNodes))
    ],
    [trans.__('Attempt'), String(run.attempt)]
  ];
  if (run.automationId) {
    facts.push([
      trans.__('Automation'),
      <code key="a">{run.automationId}</code>
    ]);
  }
  if (run.scheduledFor) {
    facts.push([trans.__('Scheduled for'), formatTime(run.scheduledFor)]);
  }
  const live = state.socketStatus === 'open';
  return (
    <header className="jp-Workscript-runHeader">
      <h2 className="jp-Workscript-runTitle">
        <span
          className={`jp-Workscript-status jp-Workscript-status-${run.status}`}
          data-testid="workscript-run-status"
          role="status"
          aria-label={trans.__('Status: %1', run.status)}
        >
          {run.status}
        </span>
        <span className="jp-Workscript-runName">
          {state.workflowName ?? run.workflowId ?? trans.__('Run %1', run.id)}
        </span>
        {!final && (
          <span
            className={`jp-Workscript-live jp-Workscript-live-${state.socketStatus}`}
            role="img"
            aria-label={live ? trans.__('Live') : trans.__('Reconnecting')}
            title={live ? trans.__('Live') : trans.__('Reconnecting')}
          />
        )}
      </h2>
      <Facts rows={facts} />
      <div className="jp-Workscript-runActions">
        {!final && (
          <button
            type="button"
            className="jp-Workscript-button"
            data-testid="workscript-run-cancel"
            disabled={state.action !== null}
            onClick={() => void model.cancel()}
          >
            {state.action === 'cancel'
              ? trans.__('Cancelling…')
              : trans.__('Cancel run')}
          </button>
        )}
        <button
          type="button"
          className="jp-Workscript-button"
          data-testid="workscript-run-rerun"
          disabled={state.action !== null}
          onClick={() => void model.rerun()}
          title={trans.__(
            'Run again with the same definition and initial state'
          )}
        >
          {state.action === 'rerun' ? trans.__('Starting…') : trans.__('Rerun')}
        </button>
        <button
          type="button"
          className="jp-Workscript-button"
          data-testid="workscript-run-refresh"
          onClick={() => void model.refresh()}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      {state.actionError !== null && state.actionError !== undefined && (
        <ActionError testId="workscript-run-action-error">
          {state.rerunId
            ? trans.__(
                'Run %1 was started, but its tab could not be opened: %2',
                state.rerunId,
                describeError(state.actionError, trans)
              )
            : describeError(state.actionError, trans)}
        </ActionError>
      )}
      {state.refreshError !== null && state.refreshError !== undefined && (
        <ActionError testId="workscript-run-refresh-error">
          {trans.__(
            'Showing the run as last read: %1',
            describeError(state.refreshError, trans)
          )}
        </ActionError>
      )}
    </header>
  );
}
