/**
 * One Google connection in the Connections section: its name, account, status badge and
 * scopes, and its actions: Test (does Google still answer?), Rename (inline), Delete (after a
 * confirmation), and Reconnect when Google no longer honours the grant.
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { WorkscriptError } from './api';
import { describeError, formatTime } from './common';
import {
  ConnectionsClient,
  type ConnectionStatus,
  type IConnection,
  shortScopes
} from './connectionsApi';

/** A question put to the user before something is undone only with effort. */
export interface IConfirmQuestion {
  title: string;
  body: string;
  accept: string;
}

export interface IConnectionRowProps {
  connection: IConnection;
  /** Short name → scope URL (the list's `scopes`). */
  known: Record<string, string>;
  api: ConnectionsClient;
  trans: TranslationBundle;
  confirm: (question: IConfirmQuestion) => Promise<boolean>;
  /** The connection as the server now has it (renamed, tested). */
  onChanged: (connection: IConnection) => void;
  onDeleted: (connection: IConnection, revoked: boolean) => void;
  /** Consent again, for these scopes (short names). */
  onReconnect: (scopes: string[]) => void;
}

export function statusText(
  status: ConnectionStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'active':
      return trans.__('active');
    case 'needs_consent':
      return trans.__('needs re-consent');
    default:
      return trans.__('error');
  }
}

/** A refusal in words, with the fields the server named (a 400's details). */
export function refusalText(error: unknown, trans: TranslationBundle): string {
  const text = describeError(error, trans);
  if (!(error instanceof WorkscriptError) || error.details === null) {
    return text;
  }
  const details = Array.isArray(error.details)
    ? error.details
    : [error.details];
  const lines = details
    .filter(
      (d): d is { field?: string; message: string } =>
        !!d && typeof d === 'object' && typeof d.message === 'string'
    )
    .map(d => (d.field ? `${d.field}: ${d.message}` : d.message))
    .filter(line => !text.includes(line));
  return [text, ...lines].join(' — ');
}

export function ConnectionRow(props: IConnectionRowProps): JSX.Element {
  const { connection: c, api, trans } = props;
  const [busy, setBusy] = React.useState(false);
  const [outcome, setOutcome] = React.useState<{
    ok: boolean;
    text: string;
  } | null>(null);
  const [draft, setDraft] = React.useState<string | null>(null);
  const scopes = shortScopes(c.scopes, props.known);
  const account = c.email ?? c.accountName ?? c.accountId ?? '';

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setOutcome(null);
    try {
      await work();
    } catch (e) {
      setOutcome({ ok: false, text: refusalText(e, trans) });
    } finally {
      setBusy(false);
    }
  };
  const test = () =>
    act(async () => {
      const result = await api.test(c.id);
      props.onChanged(result.connection);
      setOutcome(
        result.ok
          ? { ok: true, text: trans.__('Works: %1', result.email ?? account) }
          : { ok: false, text: result.error ?? trans.__('Google refused') }
      );
    });
  const rename = () => {
    const name = (draft ?? '').trim();
    if (!name) {
      setOutcome({ ok: false, text: trans.__('name: must not be empty') });
      return;
    }
    void act(async () => {
      props.onChanged(await api.rename(c.id, name));
      setDraft(null);
    });
  };
  const remove = async () => {
    const sure = await props.confirm({
      title: trans.__('Delete connection'),
      body: trans.__(
        'Delete the connection "%1" (%2)? Workflows that use it stop working, and Google is asked to revoke the access it gave.',
        c.name,
        account
      ),
      accept: trans.__('Delete')
    });
    if (sure) {
      await act(async () => {
        const answer = await api.remove(c.id);
        props.onDeleted(c, answer.revoked);
      });
    }
  };

  return (
    <li
      className="jp-Workscript-item jp-Workscript-connection"
      data-connection-id={c.id}
      data-status={c.status}
      aria-label={trans.__('Connection %1', c.name)}
    >
      {draft === null ? (
        <span className="jp-Workscript-name" title={c.name}>
          {c.name}
        </span>
      ) : (
        <input
          className="jp-Workscript-search jp-Workscript-renameInput"
          value={draft}
          autoFocus
          aria-label={trans.__('New name of %1', c.name)}
          data-testid="workscript-connection-name"
          onChange={e => setDraft(e.target.value)}
          onKeyDown={e => {
            if (e.key === 'Enter') {
              rename();
            } else if (e.key === 'Escape') {
              setDraft(null);
            }
          }}
        />
      )}
      <span
        className={`jp-Workscript-status jp-Workscript-connection-${c.status}`}
        aria-label={trans.__('Status: %1', statusText(c.status, trans))}
        data-testid="workscript-connection-status"
      >
        {statusText(c.status, trans)}
      </span>
      <span
        className="jp-Workscript-meta"
        data-testid="workscript-connection-account"
      >
        {account}
        {c.lastUsedAt
          ? ` · ${trans.__('used %1', formatTime(c.lastUsedAt))}`
          : ''}
      </span>
      <span className="jp-Workscript-meta jp-Workscript-scopes">
        {scopes.map(s => (
          <code key={s} className="jp-Workscript-scope">
            {s}
          </code>
        ))}
      </span>
      {c.status !== 'active' && c.lastError ? (
        <span className="jp-Workscript-meta jp-Workscript-connectionError">
          {c.lastError}
        </span>
      ) : null}
      <span className="jp-Workscript-actions">
        {draft === null ? (
          <>
            {c.status !== 'active' ? (
              <RowButton
                label={trans.__('Reconnect')}
                testId="workscript-connection-reconnect"
                disabled={busy}
                onClick={() => props.onReconnect(scopes)}
              />
            ) : null}
            <RowButton
              label={trans.__('Test')}
              testId="workscript-connection-test"
              disabled={busy}
              onClick={() => void test()}
            />
            <RowButton
              label={trans.__('Rename')}
              testId="workscript-connection-rename"
              disabled={busy}
              onClick={() => setDraft(c.name)}
            />
            <RowButton
              label={trans.__('Delete')}
              testId="workscript-connection-delete"
              disabled={busy}
              onClick={() => void remove()}
            />
          </>
        ) : (
          <>
            <RowButton
              label={trans.__('Save')}
              testId="workscript-connection-save"
              disabled={busy}
              onClick={rename}
            />
            <RowButton
              label={trans.__('Cancel')}
              testId="workscript-connection-cancel"
              disabled={busy}
              onClick={() => setDraft(null)}
            />
          </>
        )}
      </span>
      {outcome ? (
        <span
          className={`jp-Workscript-meta ${outcome.ok ? 'jp-Workscript-ok' : 'jp-Workscript-error'}`}
          role={outcome.ok ? 'status' : 'alert'}
          data-testid="workscript-connection-outcome"
          data-ok={String(outcome.ok)}
        >
          {outcome.text}
        </span>
      ) : null}
    </li>
  );
}

function RowButton(props: {
  label: string;
  testId: string;
  disabled: boolean;
  onClick: () => void;
}): JSX.Element {
  return (
    <button
      type="button"
      className="jp-Workscript-button"
      disabled={props.disabled}
      data-testid={props.testId}
      onClick={props.onClick}
    >
      {props.label}
    </button>
  );
}
