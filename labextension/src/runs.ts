/**
 * The Runs list's model: a pure reducer from the first REST page and the WebSocket's events
 * to the list shown. Kept free of React and of I/O so that the live behaviour (a run appears
 * when it starts, turns completed without a reload, keeps newest first) is unit tested.
 *
 * An event about a run the list does not hold (it started after the page was read) is
 * reported in `fetch`, so the panel reads that run's record once and `upsertRun`s it; so is
 * the end of a run, whose record then has the figures events do not carry (node count).
 */

import type {
  ExecutionStatus,
  IExecution,
  IExecutionSummary,
  IRunError
} from './api';
import type { IWorkscriptEvent } from './socket';

/** The outcome of one event on the list. */
export interface IRunsUpdate {
  runs: IExecutionSummary[];
  /** A run whose record should be read (unknown here, or just ended); null: nothing to read. */
  fetch: string | null;
}

const STATUS_OF_EVENT: Record<string, ExecutionStatus> = {
  'workflow:started': 'running',
  'workflow:completed': 'completed',
  'workflow:failed': 'failed',
  'workflow:cancelled': 'cancelled'
};

/** Every status of a run, in the order of its life. */
export const STATUSES: readonly ExecutionStatus[] = [
  'queued',
  'running',
  'completed',
  'failed',
  'timed_out',
  'cancelled',
  'interrupted'
];

const KNOWN_STATUSES: ReadonlySet<string> = new Set(STATUSES);

/** What a list row keeps of a full run (the states and the timeline are heavy). */
export function summaryOf(
  run: IExecution | IExecutionSummary
): IExecutionSummary {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { initialState, finalState, timeline, ...summary } = run as IExecution;
  return summary;
}

/** `run` put in the list (replacing the row of the same id), the list kept newest first. */
export function upsertRun(
  runs: IExecutionSummary[],
  run: IExecutionSummary,
  limit = 500
): IExecutionSummary[] {
  const row = summaryOf(run);
  const others = runs.filter(r => r.id !== row.id);
  const at = others.findIndex(r => r.createdAt < row.createdAt);
  const next =
    at === -1
      ? [...others, row]
      : [...others.slice(0, at), row, ...others.slice(at)];
  // a long-open panel on a busy server must not grow without bound
  return next.slice(0, limit);
}

/** The list after one WebSocket event. */
export function applyRunEvent(
  runs: IExecutionSummary[],
  event: IWorkscriptEvent
): IRunsUpdate {
  const id = event.payload.executionId;
  const isWorkflow = event.type.startsWith('workflow:');
  const isNode = event.type.startsWith('node:');
  if (typeof id !== 'string' || (!isWorkflow && !isNode)) {
    return { runs, fetch: null };
  }
  const index = runs.findIndex(r => r.id === id);
  if (index === -1) {
    return { runs, fetch: id };
  }
  const run = runs[index];
  const when =
    typeof event.timestamp === 'number'
      ? new Date(event.timestamp).toISOString()
      : null;
  let next: IExecutionSummary = run;
  if (isNode) {
    // node events are coalesced by the server: they say "running", never how many ran
    if (run.status === 'queued') {
      next = { ...run, status: 'running', startedAt: run.startedAt ?? when };
    }
  } else if (event.type === 'workflow:started') {
    next = { ...run, status: 'running', startedAt: run.startedAt ?? when };
  } else if (event.type in STATUS_OF_EVENT) {
    const payloadStatus = event.payload.status;
    const status =
      typeof payloadStatus === 'string' && KNOWN_STATUSES.has(payloadStatus)
        ? (payloadStatus as ExecutionStatus)
        : STATUS_OF_EVENT[event.type];
    const duration = event.payload.durationMs;
    next = {
      ...run,
      status,
      endedAt: run.endedAt ?? when,
      durationMs: typeof duration === 'number' ? duration : run.durationMs,
      error: (event.payload.error as IRunError | undefined) ?? run.error
    };
    const updated = [...runs];
    updated[index] = next;
    return { runs: updated, fetch: id };
  }
  if (next === run) {
    return { runs, fetch: null };
  }
  const updated = [...runs];
  updated[index] = next;
  return { runs: updated, fetch: null };
}

/** The Runs list's filters; an absent one lets every run through. */
export interface IRunFilter {
  status?: ExecutionStatus;
  trigger?: string;
  workflowId?: string;
}

/** Whether `run` belongs in a list filtered by `filter`. A run read after a live event is
 * checked here, since the server's filter only applied to the first page. */
export function matchesFilter(
  run: IExecutionSummary,
  filter: IRunFilter
): boolean {
  return (
    (!filter.status || run.status === filter.status) &&
    (!filter.trigger || run.trigger === filter.trigger) &&
    (!filter.workflowId || run.workflowId === filter.workflowId)
  );
}

/** How many runs of the list are not finished (the status bar's figure). */
export function activeCount(runs: IExecutionSummary[]): number {
  return runs.filter(r => r.status === 'queued' || r.status === 'running')
    .length;
}
