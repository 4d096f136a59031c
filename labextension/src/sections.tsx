/**
 * The three sections of the Workscript sidebar: Workflows (searchable), Runs (live over the
 * WebSocket) and Automations (enabled state, next run). Each shows its loading, empty and
 * error states itself, so a server that is down or a 403 reads as a sentence, not a blank.
 * All I/O goes through the REST and WebSocket clients; the live list logic is in runs.ts.
 */

import * as React from 'react';
import type {
  IAutomation,
  IExecutionSummary,
  IWorkflow,
  WorkscriptClient
} from './api';
import {
  formatDuration,
  formatTime,
  ISectionProps,
  MoreButton,
  onActivate,
  SectionState,
  usePaged,
  useReloadOn,
  useWorkflowNames
} from './common';
import { CommandIds } from './context';
import {
  applyRunEvent,
  IRunFilter,
  matchesFilter,
  STATUSES,
  upsertRun
} from './runs';
import type { SocketStatus, WorkscriptSocket } from './socket';

export type { ISectionProps } from './common';

export function WorkflowsSection(props: ISectionProps): JSX.Element {
  const { client, commands, trans } = props;
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
  useReloadOn(props.changes, 'workflows', list.reload);
  return (
    <SidebarSection
      title={trans.__('Workflows')}
      testId="workscript-workflows"
      extra={
        <NewButton
          label={trans.__('New workflow')}
          testId="workscript-new-workflow"
          onClick={() => void commands.execute(CommandIds.newWorkflow)}
        />
      }
    >
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
            title={w.description}
            data-workflow-id={w.id}
            aria-label={trans.__('Open workflow %1', w.name)}
            {...onActivate(
              () => void commands.execute(CommandIds.openWorkflow, { id: w.id })
            )}
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
    </SidebarSection>
  );
}

export interface IRunsSectionProps extends ISectionProps {
  socket: WorkscriptSocket;
}

// what the server records: api (REST, magics), manual (run now, rerun), cron, webhook
const TRIGGERS = ['api', 'manual', 'cron', 'webhook'];

export function RunsSection(props: IRunsSectionProps): JSX.Element {
  const { client, commands, socket, trans } = props;
  const [filter, setFilter] = React.useState<IRunFilter>({});
  // the live handlers read the filter of now without subscribing again on each change
  const filterRef = React.useRef(filter);
  filterRef.current = filter;
  const load = React.useCallback(
    (cursor: string | null) =>
      client.listExecutions({
        cursor,
        limit: 50,
        status: filter.status ? [filter.status] : undefined,
        trigger: filter.trigger,
        workflowId: filter.workflowId
      }),
    [client, filter]
  );
  const list = usePaged<IExecutionSummary>(load);
  const [live, setLive] = React.useState<SocketStatus>(socket.status);
  const { setItems } = list;
  const workflows = useWorkflowChoices(client);
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
      const wanted = filterRef.current;
      try {
        const runs =
          ids.length > 10
            ? (
                await client.listExecutions({
                  limit: 50,
                  status: wanted.status ? [wanted.status] : undefined,
                  trigger: wanted.trigger,
                  workflowId: wanted.workflowId
                })
              ).items
            : await Promise.all(ids.map(id => client.getExecution(id)));
        if (filterRef.current !== wanted) {
          return; // the filter changed meanwhile: the new first page is being read
        }
        setItems(old =>
          runs.reduce(
            (acc, run) =>
              matchesFilter(run, wanted)
                ? upsertRun(acc, run)
                : acc.filter(r => r.id !== run.id),
            old
          )
        );
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

  const choose =
    (key: keyof IRunFilter) => (e: { target: { value: string } }) =>
      setFilter(old => ({ ...old, [key]: e.target.value || undefined }));

  return (
    <SidebarSection
      title={trans.__('Runs')}
      testId="workscript-runs"
      extra={
        <span
          className={`jp-Workscript-live jp-Workscript-live-${live}`}
          role="status"
          aria-label={
            live === 'open' ? trans.__('Live') : trans.__('Reconnecting')
          }
          title={live === 'open' ? trans.__('Live') : trans.__('Reconnecting')}
        />
      }
    >
      <div className="jp-Workscript-filters">
        <FilterSelect
          value={filter.status}
          onChange={choose('status')}
          label={trans.__('Filter runs by status')}
          anyText={trans.__('Any status')}
          testId="workscript-runs-filter-status"
          options={STATUSES.map(s => ({ value: s, text: s }))}
        />
        <FilterSelect
          value={filter.trigger}
          onChange={choose('trigger')}
          label={trans.__('Filter runs by trigger')}
          anyText={trans.__('Any trigger')}
          testId="workscript-runs-filter-trigger"
          options={TRIGGERS.map(t => ({ value: t, text: t }))}
        />
        <FilterSelect
          value={filter.workflowId}
          onChange={choose('workflowId')}
          label={trans.__('Filter runs by workflow')}
          anyText={trans.__('Any workflow')}
          testId="workscript-runs-filter-workflow"
          options={workflows.map(w => ({ value: w.id, text: w.name }))}
        />
      </div>
      <SectionState
        loading={list.loading}
        error={list.error}
        empty={list.items.length === 0}
        emptyText={
          filter.status || filter.trigger || filter.workflowId
            ? trans.__('No run matches.')
            : trans.__('No runs yet.')
        }
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
            data-run-id={r.id}
            data-status={r.status}
            aria-label={trans.__('Open run %1', r.id)}
            {...onActivate(
              () => void commands.execute(CommandIds.openRun, { id: r.id })
            )}
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
    </SidebarSection>
  );
}

/** The status of the newest run of each automation of `ids` (read once each). */
function useLastOutcomes(
  client: WorkscriptClient,
  automations: IAutomation[]
): Record<string, string> {
  const [outcomes, setOutcomes] = React.useState<Record<string, string>>({});
  const asked = React.useRef(new Set<string>());
  // read again when an automation's last run changes (a fire): its id with that time
  const key = automations
    .filter(a => a.lastRunAt !== null)
    .map(a => `${a.id} ${a.lastRunAt}`)
    .join('\n');
  React.useEffect(() => {
    for (const entry of key ? key.split('\n') : []) {
      if (asked.current.has(entry)) {
        continue;
      }
      asked.current.add(entry);
      const id = entry.split(' ')[0];
      client
        .listAutomationExecutions(id, { limit: 1 })
        .then(page => {
          const last = page.items[0];
          if (last) {
            setOutcomes(old => ({ ...old, [id]: last.status }));
          }
        })
        .catch(() => undefined);
    }
  }, [client, key]);
  return outcomes;
}

/** The workflows offered by the Runs filter (the first 100, by name). */
function useWorkflowChoices(client: WorkscriptClient): IWorkflow[] {
  const [workflows, setWorkflows] = React.useState<IWorkflow[]>([]);
  React.useEffect(() => {
    client
      .listWorkflows({ limit: 100 })
      .then(page =>
        setWorkflows(
          [...page.items].sort((a, b) => a.name.localeCompare(b.name))
        )
      )
      .catch(() => undefined);
  }, [client]);
  return workflows;
}

/** One filter of the Runs list: "any" (the empty value) or one of `options`. */
function FilterSelect(props: {
  value: string | undefined;
  onChange: (e: { target: { value: string } }) => void;
  label: string;
  anyText: string;
  testId: string;
  options: { value: string; text: string }[];
}): JSX.Element {
  return (
    <select
      className="jp-Workscript-select"
      value={props.value ?? ''}
      onChange={props.onChange}
      aria-label={props.label}
      data-testid={props.testId}
    >
      <option value="">{props.anyText}</option>
      {props.options.map(o => (
        <option key={o.value} value={o.value}>
          {o.text}
        </option>
      ))}
    </select>
  );
}

/** A section of the sidebar: its title (with `extra` beside it) and its content. */
export function SidebarSection(props: {
  title: string;
  testId: string;
  extra?: React.ReactNode;
  children?: React.ReactNode;
}): JSX.Element {
  return (
    <section
      className="jp-Workscript-section"
      aria-label={props.title}
      data-testid={props.testId}
    >
      <h3 className="jp-Workscript-sectionTitle">
        {props.title}
        {props.extra}
      </h3>
      {props.children}
    </section>
  );
}

function NewButton(props: {
  label: string;
  testId: string;
  onClick: () => void;
}): JSX.Element {
  return (
    <button
      className="jp-Workscript-button jp-Workscript-new"
      onClick={props.onClick}
      aria-label={props.label}
      title={props.label}
      data-testid={props.testId}
    >
      +
    </button>
  );
}

export function AutomationsSection(props: IRunsSectionProps): JSX.Element {
  const { client, commands, socket, trans } = props;
  const load = React.useCallback(
    (cursor: string | null) => client.listAutomations({ cursor, limit: 100 }),
    [client]
  );
  const list = usePaged<IAutomation>(load);
  useReloadOn(props.changes, 'automations', list.reload);
  // a fire of an automation the list does not hold (made since it was read) reads it again
  const known = React.useRef(new Set<string>());
  known.current = new Set(list.items.map(a => a.id));
  const reloadRef = React.useRef(list.reload);
  reloadRef.current = list.reload;
  const [toggleError, setToggleError] = React.useState<unknown>(null);
  const outcomes = useLastOutcomes(client, list.items);
  const { setItems } = list;

  React.useEffect(() => {
    // a fire moves an automation's next and last run: its record is read again (coalesced)
    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = async () => {
      timer = null;
      const ids = [...pending];
      pending.clear();
      const read = await Promise.all(
        ids.map(id => client.getAutomation(id).catch(() => null))
      );
      const fresh = new Map(
        read.filter((a): a is IAutomation => a !== null).map(a => [a.id, a])
      );
      setItems(old => old.map(a => fresh.get(a.id) ?? a));
    };
    const remove = socket.onEvent(event => {
      const id = event.payload.automationId;
      if (typeof id === 'string' && !known.current.has(id)) {
        known.current.add(id); // one reload for a burst of its fires
        reloadRef.current();
      } else if (typeof id === 'string') {
        pending.add(id);
        timer ??= setTimeout(() => void flush(), 250);
      }
    }, 'automation:*');
    socket.subscribe('automations');
    socket.connect();
    return () => {
      remove();
      socket.unsubscribe('automations');
      if (timer !== null) {
        clearTimeout(timer);
      }
    };
  }, [client, socket, setItems]);
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
    <SidebarSection
      title={trans.__('Automations')}
      testId="workscript-automations"
      extra={
        <NewButton
          label={trans.__('New automation')}
          testId="workscript-new-automation"
          onClick={() => void commands.execute(CommandIds.newAutomation)}
        />
      }
    >
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
          <li
            key={a.id}
            className="jp-Workscript-item"
            data-automation-id={a.id}
            data-enabled={String(a.enabled)}
          >
            <input
              type="checkbox"
              checked={a.enabled}
              onChange={() => void toggle(a)}
              aria-label={trans.__('Enable %1', a.name)}
            />
            <span
              className="jp-Workscript-name jp-Workscript-link"
              aria-label={trans.__('Open automation %1', a.name)}
              {...onActivate(
                () =>
                  void commands.execute(CommandIds.openAutomation, { id: a.id })
              )}
            >
              {a.name}
            </span>
            <span className="jp-Workscript-meta">
              {a.triggerType === 'cron'
                ? trans.__(
                    '%1 (%2) · next %3',
                    a.cron ?? '',
                    a.timezone,
                    formatTime(a.nextRunAt)
                  )
                : a.triggerType}
              {outcomes[a.id]
                ? ` · ${trans.__('last: %1', outcomes[a.id])}`
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
    </SidebarSection>
  );
}
