/**
 * What a stored automation did: its fire log (one row per cron tick: fired with a link to its
 * run, skipped and why, failed and why), paged with "Load more", and its last runs. Both are
 * read again every 5 seconds while the tab is in view (fresh rows merged in, the pages loaded
 * kept), and not at all while it is hidden.
 */

import * as React from 'react';
import type { CommandRegistry } from '@lumino/commands';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IExecutionSummary, IFire, IPage, WorkscriptClient } from '../api';
import {
  describeError,
  formatDuration,
  formatTime,
  MoreButton
} from '../common';
import { CommandIds } from '../context';
import { appendPage, mergeFirstPage } from './model';

/** How often the history is read again while in view. */
export const HISTORY_POLL_MS = 5000;

interface IListState<T> {
  items: T[];
  cursor: string | null;
  loading: boolean;
  error: unknown;
  /** The first page has been read at least once. */
  loaded: boolean;
}

/**
 * A keyset-paged list kept fresh: its first page read again every `pollMs` while `live`,
 * merged into what is shown (so "Load more" pages stay), and read at once when it comes
 * back into view. `load` must be memoized: a new one starts a new list.
 */
export function useLiveList<T extends { id: string }>(
  load: (cursor: string | null) => Promise<IPage<T>>,
  live: boolean,
  pollMs = HISTORY_POLL_MS
): IListState<T> & { refresh: () => void; more: () => void } {
  const [state, setState] = React.useState<IListState<T>>({
    items: [],
    cursor: null,
    loading: true,
    error: null,
    loaded: false
  });
  const generation = React.useRef(0);
  const inFlight = React.useRef(false);

  const refresh = React.useCallback(async () => {
    if (inFlight.current) {
      return;
    }
    inFlight.current = true;
    const mine = generation.current;
    setState(s => ({ ...s, loading: true }));
    try {
      const page = await load(null);
      if (mine === generation.current) {
        setState(s => ({
          ...s,
          ...mergeFirstPage(s.items, s.cursor, page),
          loading: false,
          error: null,
          loaded: true
        }));
      }
    } catch (error) {
      if (mine === generation.current) {
        setState(s => ({ ...s, loading: false, error }));
      }
    } finally {
      inFlight.current = false;
    }
  }, [load]);

  const more = React.useCallback(
    async (cursor: string | null) => {
      if (cursor === null) {
        return;
      }
      const mine = generation.current;
      setState(s => ({ ...s, loading: true }));
      try {
        const page = await load(cursor);
        if (mine === generation.current) {
          setState(s => ({
            ...s,
            ...appendPage(s.items, page),
            loading: false,
            error: null
          }));
        }
      } catch (error) {
        if (mine === generation.current) {
          setState(s => ({ ...s, loading: false, error }));
        }
      }
    },
    [load]
  );

  // a new query: forget the old list
  React.useEffect(() => {
    generation.current++;
    inFlight.current = false;
    setState({
      items: [],
      cursor: null,
      loading: true,
      error: null,
      loaded: false
    });
  }, [load]);

  React.useEffect(() => {
    if (!live) {
      return;
    }
    void refresh();
    const timer = setInterval(() => {
      if (typeof document === 'undefined' || !document.hidden) {
        void refresh();
      }
    }, pollMs);
    return () => clearInterval(timer);
  }, [live, refresh, pollMs]);

  return {
    ...state,
    refresh: () => void refresh(),
    more: () => void more(state.cursor)
  };
}

interface IHistoryProps {
  client: WorkscriptClient;
  trans: TranslationBundle;
  commands: Pick<CommandRegistry, 'execute'>;
  automationId: string;
  /** The tab is in view: read the history, and again every few seconds. */
  visible: boolean;
  pollMs?: number;
}

function ListState(props: {
  loaded: boolean;
  error: unknown;
  empty: boolean;
  emptyText: string;
  onRetry: () => void;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { trans } = props;
  if (props.error) {
    return (
      <div className="jp-Workscript-state jp-Workscript-error" role="alert">
        <span>{describeError(props.error, trans)}</span>
        <button
          type="button"
          className="jp-Workscript-button"
          onClick={props.onRetry}
        >
          {trans.__('Retry')}
        </button>
      </div>
    );
  }
  if (!props.loaded) {
    return (
      <div className="jp-Workscript-state" role="status">
        {trans.__('Loading…')}
      </div>
    );
  }
  if (props.empty) {
    return <div className="jp-Workscript-state">{props.emptyText}</div>;
  }
  return null;
}

export function outcomeLabel(
  outcome: IFire['outcome'],
  trans: TranslationBundle
): string {
  switch (outcome) {
    case 'fired':
      return trans.__('Fired');
    case 'skipped':
      return trans.__('Skipped');
    case 'failed':
      return trans.__('Failed');
    default:
      return trans.__('Starting');
  }
}

export function FiresHistory(props: IHistoryProps): JSX.Element {
  const { client, trans, commands, automationId } = props;
  const load = React.useCallback(
    (cursor: string | null) =>
      client.listFires(automationId, { cursor, limit: 20 }),
    [client, automationId]
  );
  const list = useLiveList<IFire>(load, props.visible, props.pollMs);
  return (
    <section
      className="jp-Workscript-automationSection"
      aria-label={trans.__('Fires')}
    >
      <h3 className="jp-Workscript-automationHeading">{trans.__('Fires')}</h3>
      <ListState
        loaded={list.loaded}
        error={list.error}
        empty={list.items.length === 0}
        emptyText={trans.__('No fires yet.')}
        onRetry={list.refresh}
        trans={trans}
      />
      <ul
        className="jp-Workscript-fires"
        data-testid="workscript-fires"
        aria-label={trans.__('Fires')}
      >
        {list.items.map(fire => (
          <li
            key={fire.id}
            className="jp-Workscript-fire"
            data-outcome={fire.outcome}
          >
            <span className="jp-Workscript-fireTime">
              {formatTime(fire.scheduledFor)}
            </span>
            <span
              className={`jp-Workscript-outcome jp-Workscript-outcome-${fire.outcome}`}
            >
              {outcomeLabel(fire.outcome, trans)}
            </span>
            {fire.reason ? (
              <span className="jp-Workscript-fireReason">{fire.reason}</span>
            ) : null}
            {fire.executionId ? (
              <button
                type="button"
                className="jp-Workscript-button jp-Workscript-link"
                aria-label={trans.__(
                  'Open the run of %1',
                  formatTime(fire.scheduledFor)
                )}
                onClick={() =>
                  void commands.execute(CommandIds.openRun, {
                    id: fire.executionId!
                  })
                }
              >
                {trans.__('Open run')}
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      <MoreButton
        cursor={list.cursor}
        loading={list.loading}
        onMore={list.more}
        trans={trans}
      />
    </section>
  );
}

export function LastRuns(props: IHistoryProps): JSX.Element {
  const { client, trans, commands, automationId } = props;
  // the first page only: the Runs section of the sidebar has them all
  const load = React.useCallback(
    async (_cursor: string | null): Promise<IPage<IExecutionSummary>> => {
      const page = await client.listAutomationExecutions(automationId, {
        limit: 10
      });
      return { items: page.items, nextCursor: null };
    },
    [client, automationId]
  );
  const list = useLiveList<IExecutionSummary>(
    load,
    props.visible,
    props.pollMs
  );
  return (
    <section
      className="jp-Workscript-automationSection"
      aria-label={trans.__('Last runs')}
    >
      <h3 className="jp-Workscript-automationHeading">
        {trans.__('Last runs')}
      </h3>
      <ListState
        loaded={list.loaded}
        error={list.error}
        empty={list.items.length === 0}
        emptyText={trans.__('No runs yet.')}
        onRetry={list.refresh}
        trans={trans}
      />
      <ul
        className="jp-Workscript-list"
        data-testid="workscript-automation-runs"
        aria-label={trans.__('Last runs')}
      >
        {list.items.map(run => (
          <li key={run.id} className="jp-Workscript-automationRun">
            <span
              className={`jp-Workscript-status jp-Workscript-status-${run.status}`}
            >
              {run.status}
            </span>
            <span className="jp-Workscript-meta">
              {[
                run.trigger,
                formatTime(run.startedAt ?? run.createdAt),
                formatDuration(run.durationMs)
              ]
                .filter(Boolean)
                .join(' · ')}
            </span>
            <button
              type="button"
              className="jp-Workscript-button jp-Workscript-link"
              aria-label={trans.__(
                'Open the run of %1',
                formatTime(run.startedAt ?? run.createdAt)
              )}
              onClick={() =>
                void commands.execute(CommandIds.openRun, { id: run.id })
              }
            >
              {trans.__('Open run')}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
