/**
 * The run view's sections below the header: the run's error, the notebook it ran (failure
 * report, traceback, "Open executed notebook"), the warnings and the node timeline.
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IExecution } from '../api';
import { describeError, ErrorState } from '../common';
import { findNotebookFailure, INotebookFailure } from './failure';
import { Gantt } from './GanttChart';
import { isFinal, IRunViewState, RunModel, shownTimeline } from './model';
import { Facts, IRunViewProps, RunSection } from './RunParts';

export function RunError(props: {
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

export function NotebookReport(
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

export function Warnings(props: {
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

export function Timeline(props: {
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
