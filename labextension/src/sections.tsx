/**
 * The three sections of the Workscript sidebar: Workflows (searchable), Runs (live over the
 * WebSocket) and Automations (enabled state, next run). Each shows its loading, empty and
 * error states itself, so a server that is down or a 403 reads as a sentence, not a blank.
 * All I/O goes through the REST and WebSocket clients; the live list logic is in runs.ts.
 */

import * as React from 'react';
import type { IAutomation, IExecutionSummary, IWorkflow } from './api';
import {
  formatDuration,
  formatTime,
  ISectionProps,
  MoreButton,
  SectionState,
  usePaged,
  useWorkflowNames
} from './common';
import { applyRunEvent, upsertRun } from './runs';
import type { SocketStatus, WorkscriptSocket } from './socket';

export type { ISectionProps } from './common';

export function WorkflowsSection(props: ISectionProps): JSX.Element {
  const { client, trans } = props;
  const [search, setSearch] = React.useState('');
  const [query, setQuery] = React.useState('');
  React.useEffect(() => {
    // one request per pause in typing, not per key
    const timer = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(timer);
  }, [search]);
  const load = React.useCallback(
    (cursor: string | null) =>
      client.listWorkflows({ name: query || undefined, cursor, limit: 50 }),
    [client, query]
  );
  const list = usePaged<IWorkflow>(load);
  return (
    <section
      className="jp-Workscript-section"
      aria-label={trans.__('Workflows')}
    >
      <h3 className="jp-Workscript-sectionTitle">{trans.__('Workflows')}</h3>
      <input
        className="jp-Workscript-search"
        type="search"
        value={search}
        placeholder={trans.__('Search workflows')}
        aria-label={trans.__('Search workflows')}
        onChange={e => setSearch(e.target.value)}
      />
      <SectionState
        loading={list.loading}
        error={list.error}
        empty={list.items.length === 0}
        emptyText={
          query
            ? trans.__('No workflow matches.')
            : trans.__('No workflows yet.')
        }
        onRetry={list.reload}
        trans={trans}
      />
      <ul className="jp-Workscript-list" aria-label={trans.__('Workflows')}>
        {list.items.map(w => (
          <li
            key={w.id}
            className="jp-Workscript-item"
            tabIndex={0}
            title={w.description}
          >
            <span className="jp-Workscript-name">{w.name}</span>
            <span className="jp-Workscript-meta">
              {trans.__('v%1 · updated %2', w.version, formatTime(w.updatedAt))}
            </span>
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

export interface IRunsSectionProps extends ISectionProps {
  socket: WorkscriptSocket;
}

export function RunsSection(props: IRunsSectionProps): JSX.Element {
  const { client, socket, trans } = props;
  const load = React.useCallback(
    (cursor: string | null) => client.listExecutions({ cursor, limit: 50 }),
    [client]
  );
  const list = usePaged<IExecutionSummary>(load);
  const [live, setLive] = React.useState<SocketStatus>(socket.status);
  const { setItems } = list;
  const names = useWorkflowNames(
    client,
    list.items.map(r => r.workflowId)
  );

  React.useEffect(() => {
    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    // runs to read are gathered for 250 ms: a burst of starts costs one page read, not N
    const flush = async () => {
      timer = null;
      const ids = [...pending];
      pending.clear();
      try {
        const runs =
          ids.length > 10
            ? (await client.listExecutions({ limit: 50 })).items
            : await Promise.all(ids.map(id => client.getExecution(id)));
        setItems(old => runs.reduce((acc, run) => upsertRun(acc, run), old));
      } catch {
        // a run that vanished (deleted, or not ours) is simply not shown
      }
    };
    const removeEvents = socket.onEvent(event => {
      setItems(old => {
        const update = applyRunEvent(old, event);
        if (update.fetch !== null) {
          pending.add(update.fetch);
          timer ??= setTimeout(() => void flush(), 250);
        }
        return update.runs;
      });
    });
    const removeStatus = socket.onStatus(setLive);
    socket.subscribe('executions');
    socket.connect();
    return () => {
      removeEvents();
      removeStatus();
      socket.unsubscribe('executions');
      if (timer !== null) {
        clearTimeout(timer);
      }
    };
  }, [client, socket, setItems]);

  return (
    <section className="jp-Workscript-section" aria-label={trans.__('Runs')}>
      <h3 className="jp-Workscript-sectionTitle">
        {trans.__('Runs')}
        <span
          className={`jp-Workscript-live jp-Workscript-live-${live}`}
          role="status"
          aria-label={
            live === 'open' ? trans.__('Live') : trans.__('Reconnecting')
          }
          title={live === 'open' ? trans.__('Live') : trans.__('Reconnecting')}
        />
      </h3>
      <SectionState
        loading={list.loading}
        error={list.error}
        empty={list.items.length === 0}
        emptyText={trans.__('No runs yet.')}
        onRetry={list.reload}
        trans={trans}
      />
      <ul
        className="jp-Workscript-list"
        aria-label={trans.__('Runs')}
        aria-live="polite"
      >
        {list.items.map(r => (
          <li
            key={r.id}
            className="jp-Workscript-item"
            tabIndex={0}
            data-run-id={r.id}
          >
            <span
              className={`jp-Workscript-status jp-Workscript-status-${r.status}`}
              aria-label={trans.__('Status: %1', r.status)}
            >
              {r.status}
            </span>
            <span className="jp-Workscript-name">
              {(r.workflowId && names[r.workflowId]) ??
                r.workflowId ??
                r.automationId ??
                r.id}
            </span>
            <span className="jp-Workscript-meta">
              {[
                r.trigger,
                formatTime(r.startedAt ?? r.createdAt),
                formatDuration(r.durationMs)
              ]
                .filter(Boolean)
                .join(' · ')}
              {r.nodeRuns
                ? ` · ${trans._n('%1 node', '%1 nodes', r.nodeRuns)}`
                : ''}
            </span>
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

export function AutomationsSection(props: ISectionProps): JSX.Element {
  const { client, trans } = props;
  const load = React.useCallback(
    (cursor: string | null) => client.listAutomations({ cursor, limit: 100 }),
    [client]
  );
  const list = usePaged<IAutomation>(load);
  const [toggleError, setToggleError] = React.useState<unknown>(null);
  const { setItems } = list;
  const toggle = async (automation: IAutomation) => {
    setToggleError(null);
    try {
      const updated = await client.toggleAutomation(
        automation.id,
        !automation.enabled
      );
      setItems(old => old.map(a => (a.id === updated.id ? updated : a)));
    } catch (e) {
      setToggleError(e);
    }
  };
  return (
    <section
      className="jp-Workscript-section"
      aria-label={trans.__('Automations')}
    >
      <h3 className="jp-Workscript-sectionTitle">{trans.__('Automations')}</h3>
      <SectionState
        loading={list.loading}
        error={list.error ?? toggleError}
        empty={list.items.length === 0}
        emptyText={trans.__('No automations yet.')}
        onRetry={list.reload}
        trans={trans}
      />
      <ul className="jp-Workscript-list" aria-label={trans.__('Automations')}>
        {list.items.map(a => (
          <li key={a.id} className="jp-Workscript-item" tabIndex={0}>
            <label className="jp-Workscript-toggle">
              <input
                type="checkbox"
                checked={a.enabled}
                onChange={() => void toggle(a)}
                aria-label={trans.__('Enable %1', a.name)}
              />
              <span className="jp-Workscript-name">{a.name}</span>
            </label>
            <span className="jp-Workscript-meta">
              {a.triggerType === 'cron'
                ? trans.__(
                    '%1 (%2) · next %3',
                    a.cron ?? '',
                    a.timezone,
                    formatTime(a.nextRunAt)
                  )
                : a.triggerType}
            </span>
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
