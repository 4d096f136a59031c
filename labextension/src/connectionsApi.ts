/**
 * The REST client of a user's Google connections (`/workscript/integrations*`) and what the
 * Connections section needs besides the DOM: the scopes offered (short names, as the server
 * takes them), a connection's scopes back as short names, and the reading of the message the
 * OAuth callback page posts to its opener. Connections never carry a token: nothing here could
 * show one.
 */

import type { WorkscriptClient } from './api';

/** Where a connection stands: `needs_consent` when Google no longer honours its grant. */
export type ConnectionStatus = 'active' | 'needs_consent' | 'error';

/** A Google connection as every route shows it. */
export interface IConnection {
  id: string;
  provider: 'google';
  name: string;
  email: string | null;
  accountName: string | null;
  accountId: string | null;
  /** Google's full scope URLs. */
  scopes: string[];
  status: ConnectionStatus;
  expiresAt: string | null;
  lastUsedAt: string | null;
  lastRefreshedAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

/** `GET /workscript/integrations`: the caller's connections, and whether Google is set up. */
export interface IConnectionList {
  items: IConnection[];
  count: number;
  configured: boolean;
  /** Short name → Google's scope URL, for every scope a connection may ask for. */
  scopes: Record<string, string>;
}

/** The start of a consent: the Google page to open (a popup) and the state it carries. */
export interface IConsentStart {
  url: string;
  state: string;
  expiresAt: string;
  scopes: string[];
}

/** `POST .../test`: whether Google still answers with this connection's tokens. */
export interface IConnectionTest {
  ok: boolean;
  email?: string;
  error?: string;
  code?: string;
  connection: IConnection;
}

/** A scope the Connect form offers: its short name and what it lets a workflow do. */
export interface IScopeChoice {
  name: string;
  label: string;
}

/** The scopes the Connect form offers, grouped by service (the server knows these names). */
export const SCOPE_CHOICES: readonly IScopeChoice[] = [
  { name: 'gmail.readonly', label: 'Gmail: read' },
  { name: 'gmail.send', label: 'Gmail: send' },
  { name: 'gmail.compose', label: 'Gmail: compose drafts' },
  { name: 'gmail.modify', label: 'Gmail: modify (labels, trash)' },
  { name: 'calendar.readonly', label: 'Calendar: read' },
  { name: 'calendar', label: 'Calendar: full' },
  { name: 'drive', label: 'Drive: full' },
  { name: 'drive.file', label: 'Drive: files it made or opened' }
];

/** Ticked when the form opens (the notebook magic's default too). */
export const DEFAULT_SCOPES: readonly string[] = [
  'gmail.readonly',
  'gmail.send',
  'calendar',
  'drive.file'
];

// asked for on every connection (who the account is): not worth a word in the list
const IDENTITY_SCOPES = new Set(['openid', 'email', 'profile']);

/** A connection's scopes as short names (identity scopes left out), in the offered order. */
export function shortScopes(
  scopes: readonly string[],
  known: Record<string, string>
): string[] {
  const byUrl = new Map(
    Object.entries(known).map(([name, url]) => [url, name])
  );
  const names = scopes
    .map(scope => byUrl.get(scope) ?? scope.split('/').pop() ?? scope)
    .filter(
      name => !IDENTITY_SCOPES.has(name) && !name.startsWith('userinfo.')
    );
  const order = SCOPE_CHOICES.map(c => c.name);
  const rank = (name: string) => {
    const at = order.indexOf(name);
    return at === -1 ? order.length : at;
  };
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b));
}

/** What the callback page told its opener. */
export type ConsentOutcome =
  | {
      kind: 'connected';
      connection: { id: string; email: string | null; name: string };
    }
  | { kind: 'failed'; error: string };

export const CONNECTED_MESSAGE = 'workscript:google-connected';
export const FAILED_MESSAGE = 'workscript:google-failed';

/**
 * The outcome a `message` event carries, or null when it is not the callback's: another
 * origin's message is never trusted (any page may post to this window), nor one of another type.
 */
export function consentOutcome(
  event: Pick<MessageEvent, 'origin' | 'data'>,
  ownOrigin: string
): ConsentOutcome | null {
  if (event.origin !== ownOrigin) {
    return null;
  }
  const data = event.data as Record<string, unknown> | null;
  if (!data || typeof data !== 'object') {
    return null;
  }
  if (data.type === CONNECTED_MESSAGE) {
    const connection = (data.connection ?? {}) as Record<string, unknown>;
    return {
      kind: 'connected',
      connection: {
        id: String(connection.id ?? ''),
        email: typeof connection.email === 'string' ? connection.email : null,
        name: String(connection.name ?? '')
      }
    };
  }
  if (data.type === FAILED_MESSAGE) {
    return {
      kind: 'failed',
      error: typeof data.error === 'string' ? data.error : 'consent failed'
    };
  }
  return null;
}

/** The connection routes, through the Workscript client (its settings, token and XSRF). */
export class ConnectionsClient {
  constructor(private readonly client: WorkscriptClient) {}

  list(): Promise<IConnectionList> {
    return this.client.request('GET', 'integrations');
  }

  /** Start a consent for `scopes` (short names); `returnTo`: where a tab without an opener
   * goes back to afterwards. */
  connect(scopes: string[], returnTo?: string): Promise<IConsentStart> {
    return this.client.request('POST', 'integrations/google/connect', {
      body: returnTo ? { scopes, returnTo } : { scopes }
    });
  }

  rename(id: string, name: string): Promise<IConnection> {
    return this.client.request('PATCH', this.path(id), { body: { name } });
  }

  test(id: string): Promise<IConnectionTest> {
    return this.client.request('POST', `${this.path(id)}/test`);
  }

  /** `revoked`: Google confirmed the revocation of the grant. */
  remove(id: string): Promise<{ deleted: boolean; revoked: boolean }> {
    return this.client.request('DELETE', this.path(id));
  }

  private path(id: string): string {
    return `integrations/${encodeURIComponent(id)}`;
  }
}
