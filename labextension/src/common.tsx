/**
 * What the Workscript panel's sections share: their props, the loading / empty / error
 * states, a keyset-paged list hook (first page, "Load more", reload, stale answers dropped),
 * the workflow names shown in place of ids, and time formatting in the user's locale.
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type { ISignal } from '@lumino/signaling';
import { IPage, WorkscriptClient, WorkscriptError } from './api';
import type { RecordKind } from './context';

export interface ISectionProps {
  client: WorkscriptClient;
  trans: TranslationBundle;
  /** The app's commands: rows open their tab through them (context.ts's CommandIds). */
  commands: CommandRegistry;
  /** Emits the kind of records a tab has just stored or deleted. */
  changes: ISignal<unknown, RecordKind>;
}

/** Calls `reload` whenever `changes` says records of `kind` changed. */
export function useReloadOn(
  changes: ISignal<unknown, RecordKind>,
  kind: RecordKind,
  reload: () => void
): void {
  const latest = React.useRef(reload);
  latest.current = reload;
  React.useEffect(() => {
    const slot = (_: unknown, changed: RecordKind) => {
      if (changed === kind) {
        latest.current();
      }
    };
    changes.connect(slot);
    return () => {
      changes.disconnect(slot);
    };
  }, [changes, kind]);
}

/** Enter or Space on a focused row acts as a click (rows are keyboard reachable). */
export function onActivate(
  action: () => void
): Pick<
  React.HTMLAttributes<HTMLElement>,
  'onClick' | 'onKeyDown' | 'role' | 'tabIndex'
> {
  return {
    role: 'button',
    tabIndex: 0,
    onClick: action,
    onKeyDown: e => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        action();
      }
    }
  };
}

/** What went wrong, in words a user can act on. */
export function describeError(
  error: unknown,
  trans: TranslationBundle
): string {
  if (error instanceof WorkscriptError) {
    if (error.status === 0) {
      return trans.__('The Jupyter server cannot be reached.');
    }
    if (error.status === 403) {
      return trans.__('Not allowed: %1', error.message);
    }
    return error.message;
  }
  return String((error as Error)?.message ?? error);
}

/** What went wrong, in words, with a Retry button (the sections' and the tabs' error state). */
export function ErrorState(props: {
  /** What went wrong, in words (describeError's, or a sentence around it). */
  message: React.ReactNode;
  trans: TranslationBundle;
  /** Read again; no Retry button without it. */
  onRetry?: () => void;
  retryDisabled?: boolean;
  testId?: string;
  retryTestId?: string;
}): JSX.Element {
  const { trans } = props;
  return (
    <div
      className="jp-Workscript-state jp-Workscript-error"
      role="alert"
      data-testid={props.testId}
    >
      <span>{props.message}</span>
      {props.onRetry ? (
        <button
          type="button"
          className="jp-Workscript-button"
          onClick={props.onRetry}
          disabled={props.retryDisabled}
          aria-label={trans.__('Retry')}
          data-testid={props.retryTestId}
        >
          {trans.__('Retry')}
        </button>
      ) : null}
    </div>
  );
}

/** Loading, error (with a retry) or empty; null when there is something to show. */
export function SectionState(props: {
  loading: boolean;
  error: unknown;
  empty: boolean;
  emptyText: string;
  onRetry: () => void;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { trans } = props;
  if (props.error) {
    return (
      <ErrorState
        message={describeError(props.error, trans)}
        trans={trans}
        onRetry={props.onRetry}
      />
    );
  }
  if (props.loading && props.empty) {
    return (
      <div className="jp-Workscript-state" role="status" aria-live="polite">
        {trans.__('Loading…')}
      </div>
    );
  }
  if (props.empty) {
    return <div className="jp-Workscript-state">{props.emptyText}</div>;
  }
  return null;
}

/** A paged list read from the server: first page, more pages, reload. `load` must be
 * memoized (useCallback): a new `load` is a new query, read from its first page. */
export function usePaged<T>(
  load: (cursor: string | null) => Promise<IPage<T>>
) {
  const [items, setItems] = React.useState<T[]>([]);
  const [cursor, setCursor] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(true);
  const [error, setError] = React.useState<unknown>(null);
  const generation = React.useRef(0);

  const fetchPage = React.useCallback(
    async (from: string | null) => {
      // an answer to an older query (the search text changed since) is dropped
      const mine = ++generation.current;
      setLoading(true);
      setError(null);
      try {
        const page = await load(from);
        if (mine === generation.current) {
          setItems(old =>
            from === null ? page.items : [...old, ...page.items]
          );
          setCursor(page.nextCursor);
        }
      } catch (e) {
        if (mine === generation.current) {
          setError(e);
        }
      } finally {
        if (mine === generation.current) {
          setLoading(false);
        }
      }
    },
    [load]
  );

  React.useEffect(() => {
    void fetchPage(null);
  }, [fetchPage]);

  return {
    items,
    setItems,
    cursor,
    loading,
    error,
    reload: () => void fetchPage(null),
    more: () => void fetchPage(cursor)
  };
}

export function MoreButton(props: {
  cursor: string | null;
  loading: boolean;
  onMore: () => void;
  trans: TranslationBundle;
}): JSX.Element | null {
  if (props.cursor === null) {
    return null;
  }
  return (
    <button
      className="jp-Workscript-button jp-Workscript-more"
      disabled={props.loading}
      onClick={props.onMore}
    >
      {props.trans.__('Load more')}
    </button>
  );
}

export function formatTime(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function formatDuration(ms: number | null): string {
  if (ms === null) {
    return '';
  }
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The names of the workflows `ids`, read once each (an unreadable one keeps its id). */
export function useWorkflowNames(
  client: WorkscriptClient,
  ids: (string | null)[]
): Record<string, string> {
  const [names, setNames] = React.useState<Record<string, string>>({});
  const asked = React.useRef(new Set<string>());
  const key = [...new Set(ids.filter((id): id is string => id !== null))]
    .sort()
    .join('\n');
  React.useEffect(() => {
    for (const id of key ? key.split('\n') : []) {
      if (asked.current.has(id)) {
        continue;
      }
      asked.current.add(id);
      client
        .getWorkflow(id)
        .then(w => setNames(old => ({ ...old, [id]: w.name })))
        .catch(() => undefined);
    }
  }, [client, key]);
  return names;
}
