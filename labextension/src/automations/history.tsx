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
  formatDuration,
  formatTime,
  MoreButton,
  SectionState
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

/** A list not read yet. */
function unread<T>(): IListState<T> {
  return { items: [], cursor: null, loading: true, error: null, loaded: false };
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
  const [state, setState] = React.useState<IListState<T>>(unread);
  const generation = React.useRef(0);
  const inFlight = React.useRef(false);

  /** Read the page at `cursor` and fold it into the list (an answer to an older list dropped). */
  const read = React.useCallback(
    async (
      cursor: string | null,
      fold: (s: IListState<T>, page: IPage<T>) => Partial<IListState<T>>
    ) => {
      const mine = generation.current;
      setState(s => ({ ...s, loading: true }));
      try {
        const page = await load(cursor);
        if (mine === generation.current) {
          setState(s => ({
            ...s,
            ...fold(s, page),
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

  const refresh = React.useCallback(async () => {
    if (inFlight.current) {
      return;
    }
    inFlight.current = true;
    try {
      await read(null, (s, page) => ({
        ...mergeFirstPage(s.items, s.cursor, page),
        loaded: true
      }));
    } finally {
      inFlight.current = false;
    }
  }, [read]);

  const more = React.useCallback(
    async (cursor: string | null) => {
      if (cursor !== null) {
        await read(cursor, (s, page) => appendPage(s.items, page));
      }
    },
    [read]
  );

  // a new query: forget the old list
  React.useEffect(() => {
    generation.current++;
    inFlight.current = false;
    setState(unread<T>());
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

/** A titled part of the history, with its loading, error and empty states. */
function HistorySection(props: {
  title: string;
  emptyText: string;
  list: {
    loaded: boolean;
    error: unknown;
    items: unknown[];
    refresh: () => void;
  };
  trans: TranslationBundle;
  children: React.ReactNode;
}): JSX.Element {
  const { title, list } = props;
  return (
    <section className="jp-Workscript-automationSection" aria-label={title}>
      <h3 className="jp-Workscript-automationHeading">{title}</h3>
      <SectionState
        loading={!list.loaded}
        error={list.error}
        empty={list.items.length === 0}
        emptyText={props.emptyText}
        onRetry={list.refresh}
        trans={props.trans}
      />
      {props.children}
    </section>
  );
}

/** Opens the tab of run `id`, started `when`. */
function OpenRunButton(props: {
  id: string;
  when: string;
  commands: IHistoryProps['commands'];
  trans: TranslationBundle;
}): JSX.Element {
  const { trans } = props;
  return (
    <button
      type="button"
      className="jp-Workscript-button jp-Workscript-link"
      aria-label={trans.__('Open the run of %1', props.when)}
      onClick={() =>
        void props.commands.execute(CommandIds.openRun, { id: props.id })
      }
    >
      {trans.__('Open run')}
    </button>
  );
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
    <HistorySection
      title={trans.__('Fires')}
      emptyText={trans.__('No fires yet.')}
      list={list}
      trans={trans}
    >
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
              <OpenRunButton
                id={fire.executionId}
                when={formatTime(fire.scheduledFor)}
                commands={commands}
                trans={trans}
              />
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
    </HistorySection>
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
    <HistorySection
      title={trans.__('Last runs')}
      emptyText={trans.__('No runs yet.')}
      list={list}
      trans={trans}
    >
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
            <OpenRunButton
              id={run.id}
              when={formatTime(run.startedAt ?? run.createdAt)}
              commands={commands}
              trans={trans}
            />
          </li>
        ))}
      </ul>
    </HistorySection>
  );
}
