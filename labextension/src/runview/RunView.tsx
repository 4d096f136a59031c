/**
 * The run view: a header (status, workflow, trigger, times, Cancel / Rerun), the run's error,
 * the notebook it ran (failure report, traceback, "Open executed notebook"), the node timeline
 * and the initial and final states. The data and the live following are in model.ts; this
 * file only draws the model's state and forwards the clicks.
 */

import * as React from 'react';
import { JsonTree } from './JsonTreeView';
import { isFinal, IRunViewState, RunModel } from './model';
import { IRunViewProps, RunSection } from './RunParts';
import { Header, LoadState } from './RunHeader';
import { NotebookReport, RunError, Timeline, Warnings } from './RunSections';

export type { IRunViewProps } from './RunParts';

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
