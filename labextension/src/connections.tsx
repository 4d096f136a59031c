/**
 * The Connections section of the Workscript sidebar: the user's Google accounts (the Google
 * nodes act through them) and "Connect Google".
 *
 * Connecting: the click opens a blank popup at once (a popup opened later, after the server
 * answered, is one a browser blocks), asks the server to start a consent, then sends the popup
 * to Google's page. Google returns the popup to the server's callback, which posts the outcome
 * to this window and closes; the list is read again on that message (only from this page's own
 * origin) and also when the popup closes, however it closed. Rows are in connectionRow.tsx.
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { WorkscriptClient } from './api';
import { ErrorState, describeError } from './common';
import {
  ConnectionRow,
  type IConfirmQuestion,
  refusalText
} from './connectionRow';
import {
  ConnectionsClient,
  consentOutcome,
  DEFAULT_SCOPES,
  type IConnection,
  type IConnectionList,
  SCOPE_CHOICES
} from './connectionsApi';
import { SidebarSection } from './sections';

export type { IConfirmQuestion } from './connectionRow';

export interface IConnectionsSectionProps {
  client: WorkscriptClient;
  trans: TranslationBundle;
  /** Asks before a Delete (Lab's dialog: connectionsDialog.ts). */
  confirm: (question: IConfirmQuestion) => Promise<boolean>;
  /** Opens the blank consent popup; called within the click. */
  openPopup?: () => Window | null;
  /** This page's origin: the only one whose messages are read. */
  origin?: string;
  /** How often an open popup is checked for having closed (tests shorten it). */
  closedCheckMs?: number;
}

const POPUP_NAME = 'workscript-google-consent';

function openBlankPopup(): Window | null {
  return window.open('about:blank', POPUP_NAME, 'popup,width=520,height=700');
}

type Notice = { ok: boolean; text: string };

export function ConnectionsSection(
  props: IConnectionsSectionProps
): JSX.Element {
  const { client, trans } = props;
  const origin = props.origin ?? window.location.origin;
  const openPopup = props.openPopup ?? openBlankPopup;
  const closedCheckMs = props.closedCheckMs ?? 500;
  const api = React.useMemo(() => new ConnectionsClient(client), [client]);
  const [list, setList] = React.useState<IConnectionList | null>(null);
  const [loading, setLoading] = React.useState(true);
  const [error, setError] = React.useState<unknown>(null);
  const [notice, setNotice] = React.useState<Notice | null>(null);
  const [formOpen, setFormOpen] = React.useState(false);
  // a consent whose popup the browser blocked: its page, to open by a link instead
  const [blockedUrl, setBlockedUrl] = React.useState<string | null>(null);
  const generation = React.useRef(0);
  const closedTimer = React.useRef<ReturnType<typeof setInterval> | null>(null);

  const reload = React.useCallback(async () => {
    const mine = ++generation.current; // an older read answering late is dropped
    setLoading(true);
    try {
      const answer = await api.list();
      if (mine === generation.current) {
        setList(answer);
        setError(null);
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
  }, [api]);
  const reloadRef = React.useRef(reload);
  reloadRef.current = reload;

  React.useEffect(() => {
    void reload();
  }, [reload]);

  React.useEffect(() => {
    const onMessage = (event: MessageEvent) => {
      const outcome = consentOutcome(event, origin);
      if (outcome === null) {
        return;
      }
      if (outcome.kind === 'connected') {
        const who = outcome.connection.email ?? outcome.connection.name;
        setNotice({ ok: true, text: trans.__('Connected %1.', who) });
        setFormOpen(false);
        setBlockedUrl(null);
      } else {
        setNotice({
          ok: false,
          text: trans.__('Google consent failed: %1', outcome.error)
        });
      }
      void reloadRef.current();
    };
    window.addEventListener('message', onMessage);
    return () => window.removeEventListener('message', onMessage);
  }, [origin, trans]);

  const stopWatching = () => {
    if (closedTimer.current !== null) {
      clearInterval(closedTimer.current);
      closedTimer.current = null;
    }
  };
  React.useEffect(() => stopWatching, []);

  /** Read the list again once `popup` closes (consent given, refused or abandoned). */
  const watch = (popup: Window) => {
    stopWatching();
    closedTimer.current = setInterval(() => {
      if (popup.closed) {
        stopWatching();
        void reloadRef.current();
      }
    }, closedCheckMs);
  };

  const startConsent = (scopes: string[]) => {
    setNotice(null);
    setBlockedUrl(null);
    const popup = openPopup(); // now, within the click: later it would be blocked
    void (async () => {
      try {
        const start = await api.connect(scopes);
        if (popup === null || popup.closed) {
          setBlockedUrl(start.url);
          return;
        }
        popup.location.href = start.url;
        watch(popup);
      } catch (e) {
        popup?.close();
        setNotice({ ok: false, text: refusalText(e, trans) });
      }
    })();
  };

  const replace = (updated: IConnection) =>
    setList(old =>
      old
        ? {
            ...old,
            items: old.items.map(c => (c.id === updated.id ? updated : c))
          }
        : old
    );
  const removed = (gone: IConnection, revoked: boolean) => {
    setList(old =>
      old
        ? {
            ...old,
            items: old.items.filter(c => c.id !== gone.id),
            count: old.count - 1
          }
        : old
    );
    setNotice(
      revoked
        ? {
            ok: true,
            text: trans.__('Deleted %1; Google revoked its access.', gone.name)
          }
        : {
            ok: true,
            text: trans.__(
              'Deleted %1. Google did not confirm the revocation: remove the access at myaccount.google.com/permissions if it is still listed.',
              gone.name
            )
          }
    );
  };

  const configured = list?.configured ?? false;
  const items = list?.items ?? [];
  return (
    <SidebarSection
      title={trans.__('Connections')}
      testId="workscript-connections"
      extra={
        configured && !formOpen ? (
          <button
            type="button"
            className="jp-Workscript-button jp-Workscript-new jp-Workscript-connectGoogle"
            data-testid="workscript-connect-google"
            onClick={() => setFormOpen(true)}
          >
            {trans.__('Connect Google')}
          </button>
        ) : null
      }
    >
      {error ? (
        <ErrorState
          message={describeError(error, trans)}
          trans={trans}
          onRetry={() => void reload()}
        />
      ) : null}
      {list === null && loading && !error ? (
        <div className="jp-Workscript-state" role="status">
          {trans.__('Loading…')}
        </div>
      ) : null}
      {list !== null && !configured ? (
        <div
          className="jp-Workscript-state"
          data-testid="workscript-connections-unconfigured"
        >
          {trans.__(
            'Google is not configured on this server. An administrator sets GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET (the OAuth client of a Google Cloud project) and restarts the server.'
          )}
        </div>
      ) : null}
      {notice ? (
        <div
          className={`jp-Workscript-state ${notice.ok ? 'jp-Workscript-ok' : 'jp-Workscript-error'}`}
          role={notice.ok ? 'status' : 'alert'}
          data-testid="workscript-connections-notice"
        >
          {notice.text}
        </div>
      ) : null}
      {blockedUrl ? (
        <div
          className="jp-Workscript-state"
          data-testid="workscript-connect-blocked"
        >
          {trans.__('The browser blocked the consent window. ')}
          <a href={blockedUrl} target={POPUP_NAME}>
            {trans.__("Open Google's consent page")}
          </a>
        </div>
      ) : null}
      {configured && formOpen ? (
        <ConnectForm
          trans={trans}
          onConnect={startConsent}
          onCancel={() => setFormOpen(false)}
        />
      ) : null}
      {list !== null && configured && items.length === 0 ? (
        <div className="jp-Workscript-state">
          {trans.__('No Google account connected yet.')}
        </div>
      ) : null}
      <ul className="jp-Workscript-list" aria-label={trans.__('Connections')}>
        {items.map(c => (
          <ConnectionRow
            key={c.id}
            connection={c}
            known={list?.scopes ?? {}}
            api={api}
            trans={trans}
            confirm={props.confirm}
            onChanged={replace}
            onDeleted={removed}
            onReconnect={startConsent}
          />
        ))}
      </ul>
    </SidebarSection>
  );
}

/** The scopes to ask for, ticked; "Continue to Google" starts the consent. */
function ConnectForm(props: {
  trans: TranslationBundle;
  onConnect: (scopes: string[]) => void;
  onCancel: () => void;
}): JSX.Element {
  const { trans } = props;
  const [chosen, setChosen] = React.useState<Set<string>>(
    () => new Set(DEFAULT_SCOPES)
  );
  const flip = (name: string) =>
    setChosen(old => {
      const next = new Set(old);
      if (!next.delete(name)) {
        next.add(name);
      }
      return next;
    });
  const scopes = SCOPE_CHOICES.map(c => c.name).filter(n => chosen.has(n));
  return (
    <form
      className="jp-Workscript-connectForm"
      data-testid="workscript-connect-form"
      aria-label={trans.__('Connect a Google account')}
      onSubmit={e => {
        e.preventDefault();
        if (scopes.length) {
          props.onConnect(scopes);
        }
      }}
    >
      <fieldset>
        <legend>{trans.__('What workflows may do with the account')}</legend>
        {SCOPE_CHOICES.map(choice => (
          <label key={choice.name} className="jp-Workscript-scopeChoice">
            <input
              type="checkbox"
              checked={chosen.has(choice.name)}
              data-scope={choice.name}
              onChange={() => flip(choice.name)}
            />
            {trans.__(choice.label)} <code>{choice.name}</code>
          </label>
        ))}
      </fieldset>
      {scopes.length === 0 ? (
        <div className="jp-Workscript-state jp-Workscript-error" role="alert">
          {trans.__('scopes: tick at least one')}
        </div>
      ) : null}
      <div className="jp-Workscript-actions">
        <button
          type="submit"
          className="jp-Workscript-button"
          disabled={scopes.length === 0}
          data-testid="workscript-connect-continue"
        >
          {trans.__('Continue to Google')}
        </button>
        <button
          type="button"
          className="jp-Workscript-button"
          onClick={props.onCancel}
        >
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}
