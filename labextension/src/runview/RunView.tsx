/**
 * The run view: a header (status, workflow, trigger, times, Cancel / Rerun), the run's error,
 * the notebook it ran (failure report, traceback, "Open executed notebook"), the node timeline
 * and the initial and final states. The data and the live following are in model.ts; this
 * file only draws the model's state and forwards the clicks.
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
import { CommandIds, IWorkscriptContext } from '../context';
import { findNotebookFailure, INotebookFailure } from './failure';
import { Gantt } from './GanttChart';
import { JsonTree } from './JsonTreeView';
import {
  isFinal,
  isNotFound,
  isServerDown,
  IRunViewState,
  RunModel,
  shownTimeline
} from './model';

export interface IRunViewProps {
  model: RunModel;
  /** The app's commands and the translations; the model does the I/O. */
  ctx: Pick<IWorkscriptContext, 'app' | 'trans'>;
}

/** The model's state, re-rendered on each change. */
function useModelState(model: RunModel): IRunViewState {
  const [state, setState] = React.useState(model.state);
  React.useEffect(() => {
    setState(model.state);
    return model.onChange(setState);
  }, [model]);
  return state;
}

/** The clock, ticking every `ms` while `active` (a running run's duration and bars grow). */
function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    if (!active) {
      return;
    }
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return now;
}

export function RunView(props: IRunViewProps): JSX.Element {
  const { model } = props;
  const { trans } = props.ctx;
  const state = useModelState(model);
  const run = state.run;
  const running = run !== null && !isFinal(run.status);
  const now = useNow(running);

  if (run === null) {
    return (
      <div className="jp-Workscript-runView">
        <LoadState state={state} model={model} trans={trans} />
      </div>
    );
  }
  return (
    <div
      className="jp-Workscript-runView"
      data-execution-id={run.id}
      aria-busy={state.loading}
    >
      <Header state={state} run={run} now={now} {...props} />
      <RunError run={run} trans={trans} />
      <NotebookReport run={run} {...props} />
      <Warnings run={run} trans={trans} />
      <Timeline state={state} run={run} now={now} model={model} trans={trans} />
      <RunSection label={trans.__('Final state')}>
        {run.finalState === null || run.finalState === undefined ? (
          <div
            className="jp-Workscript-state"
            data-testid="workscript-run-state"
          >
            {running
              ? trans.__('The run has not ended yet.')
              : trans.__('The run left no final state.')}
          </div>
        ) : (
          <JsonTree
            value={run.finalState}
            label="finalState"
            expanded={true}
            trans={trans}
            testId="workscript-run-state"
          />
        )}
      </RunSection>
      <RunSection label={trans.__('Initial state')}>
        <JsonTree
          value={run.initialState ?? {}}
          label="initialState"
          expanded={false}
          trans={trans}
          testId="workscript-run-initial-state"
        />
      </RunSection>
    </div>
  );
}

/** One section of the view: its name (also its heading, unless `title` is given) and body. */
function RunSection(props: {
  label: string;
  title?: React.ReactNode;
  className?: string;
  testId?: string;
  role?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section
      className={`jp-Workscript-runSection ${props.className ?? ''}`.trim()}
      aria-label={props.label}
      data-testid={props.testId}
      role={props.role}
    >
      <h3 className="jp-Workscript-runSectionTitle">
        {props.title ?? props.label}
      </h3>
      {props.children}
    </section>
  );
}

/** Name and value pairs (the values in code type when `code`). */
function Facts(props: {
  rows: [string, React.ReactNode][];
  code?: boolean;
}): JSX.Element {
  return (
    <dl className="jp-Workscript-runFacts">
      {props.rows.map(([name, value]) => (
        <div key={name} className="jp-Workscript-runFact">
          <dt>{name}</dt>
          <dd>{props.code ? <code>{value}</code> : value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A failed action or refresh, under the header's buttons. */
function ActionError(props: {
  testId: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <div
      className="jp-Workscript-error jp-Workscript-runActionError"
      role="alert"
      data-testid={props.testId}
    >
      {props.children}
    </div>
  );
}

/** Loading, not found, server down or another error: what shows before a run is read. */
function LoadState(props: {
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

function Header(
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

function RunError(props: {
  run: IExecution;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { run, trans } = props;
  const error = run.error;
  if (!error || typeof error !== 'object') {
    return null;
  }
  const rows: [string, string][] = [
    [trans.__('Code'), String(error.code ?? '')],
    [trans.__('Node'), String(error.nodePath ?? '')],
    [trans.__('Node type'), String(error.nodeType ?? '')]
  ];
  return (
    <RunSection
      label={trans.__('Error')}
      className="jp-Workscript-runError"
      testId="workscript-run-error"
      role="alert"
    >
      <p className="jp-Workscript-runErrorMessage">
        {String(error.message ?? '')}
      </p>
      <Facts rows={rows.filter(([, value]) => value !== '')} code />
    </RunSection>
  );
}

function NotebookReport(
  props: IRunViewProps & { run: IExecution }
): JSX.Element | null {
  const { run } = props;
  const { app, trans } = props.ctx;
  const failure: INotebookFailure | null = React.useMemo(
    () => findNotebookFailure(run),
    [run]
  );
  const [openError, setOpenError] = React.useState<unknown>(null);
  if (failure === null) {
    return null;
  }
  const open = async () => {
    setOpenError(null);
    try {
      await app.commands.execute('docmanager:open', {
        path: failure.executedPath
      });
    } catch (error) {
      setOpenError(error);
    }
  };
  const facts: [string, string | null][] = [
    [trans.__('Notebook'), failure.path],
    [trans.__('Node'), failure.nodePath],
    [
      trans.__('Cell'),
      failure.cellIndex === null ? null : String(failure.cellIndex)
    ],
    [trans.__('Kind'), failure.kind],
    [
      trans.__('Exception'),
      failure.ename
        ? failure.evalue
          ? `${failure.ename}: ${failure.evalue}`
          : failure.ename
        : null
    ],
    [trans.__('Executed copy'), failure.executedPath]
  ];
  return (
    <RunSection
      label={trans.__('Notebook')}
      title={
        failure.failed
          ? trans.__('Notebook failure')
          : trans.__('Executed notebook')
      }
      className="jp-Workscript-runNotebook"
      testId="workscript-run-notebook"
    >
      {failure.failed && failure.message && (
        <p className="jp-Workscript-runErrorMessage">{failure.message}</p>
      )}
      <Facts rows={facts.filter(([, value]) => value !== null)} code />
      {failure.executedPath !== null &&
        (failure.openable ? (
          <button
            type="button"
            className="jp-Workscript-button"
            data-testid="workscript-run-open-notebook"
            onClick={() => void open()}
          >
            {trans.__('Open executed notebook')}
          </button>
        ) : (
          <p className="jp-Workscript-state">
            {trans.__(
              'The executed notebook %1 is outside the Jupyter root: it cannot be opened here.',
              failure.executedPath
            )}
          </p>
        ))}
      {failure.executedPath === null && failure.failed && (
        <p className="jp-Workscript-state">
          {trans.__('No executed copy of the notebook was written.')}
        </p>
      )}
      {openError !== null && (
        <div className="jp-Workscript-error" role="alert">
          {trans.__(
            'The notebook could not be opened: %1',
            describeError(openError, trans)
          )}
        </div>
      )}
      {failure.sourceHead && (
        <>
          <h4 className="jp-Workscript-runSubTitle">
            {trans.__('Cell source (first lines)')}
          </h4>
          <pre className="jp-Workscript-runPre">{failure.sourceHead}</pre>
        </>
      )}
      {failure.traceback && (
        <>
          <h4 className="jp-Workscript-runSubTitle">{trans.__('Traceback')}</h4>
          <pre
            className="jp-Workscript-runPre jp-Workscript-runTraceback"
            data-testid="workscript-run-traceback"
            tabIndex={0}
            aria-label={trans.__('Traceback')}
          >
            {failure.traceback}
          </pre>
        </>
      )}
    </RunSection>
  );
}

interface IWarning {
  code: string;
  message: string;
  nodePath: string;
}

/** The run's warnings (the server sends them; the type of the client does not list them). */
function warningsOf(run: IExecution): IWarning[] {
  const raw = (run as unknown as { warnings?: unknown }).warnings;
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw
    .filter(w => typeof w === 'object' && w !== null)
    .map(w => ({
      code: String(w.code ?? ''),
      message: String(w.message ?? ''),
      nodePath: String(w.nodePath ?? '')
    }));
}

function Warnings(props: {
  run: IExecution;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { trans } = props;
  const warnings = warningsOf(props.run);
  if (warnings.length === 0) {
    return null;
  }
  return (
    <RunSection label={trans.__('Warnings')} testId="workscript-run-warnings">
      <ul className="jp-Workscript-runWarnings">
        {warnings.map((w, i) => (
          <li key={i}>
            {w.nodePath && <code>{w.nodePath}</code>} {w.message}{' '}
            <span className="jp-Workscript-meta">{w.code}</span>
          </li>
        ))}
      </ul>
    </RunSection>
  );
}

function Timeline(props: {
  state: IRunViewState;
  run: IExecution;
  now: number;
  model: RunModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { state, run, now, model, trans } = props;
  const final = isFinal(run.status);
  const shown = shownTimeline(state);
  let body: JSX.Element;
  if (state.timelineError && shown.entries.length === 0) {
    body = (
      <ErrorState
        message={trans.__(
          'The timeline could not be read: %1',
          describeError(state.timelineError, trans)
        )}
        trans={trans}
        onRetry={() => void model.refresh()}
      />
    );
  } else if (state.timeline === null && shown.entries.length === 0) {
    body = (
      <div className="jp-Workscript-state" role="status" aria-live="polite">
        {trans.__('Loading the timeline…')}
      </div>
    );
  } else if (shown.entries.length === 0) {
    body = (
      <div className="jp-Workscript-state">
        {final
          ? trans.__('No node ran.')
          : run.status === 'queued'
            ? trans.__('The run is queued: no node has run yet.')
            : trans.__('Waiting for the first node…')}
      </div>
    );
  } else {
    body = (
      <Gantt
        entries={shown.entries}
        runStartedAt={run.startedAt}
        nowMs={now}
        live={shown.live}
        trans={trans}
      />
    );
  }
  return (
    <RunSection
      label={trans.__('Timeline')}
      title={
        <>
          {trans.__('Timeline')}
          {shown.live && (
            <span
              className="jp-Workscript-meta jp-Workscript-runLiveNote"
              title={trans.__(
                'Drawn from the live events; the stored timeline replaces it when the run ends.'
              )}
            >
              {trans.__('live, approximate')}
            </span>
          )}
        </>
      }
      testId="workscript-run-timeline"
    >
      {body}
    </RunSection>
  );
}
