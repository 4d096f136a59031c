/**
 * What the Connections section tests share: connections as the server shows them, a scripted
 * server keeping them (through the real WorkscriptClient and Jupyter's ServerConnection), a
 * stand-in consent popup, and `SectionHarness`, which draws the section in jsdom (React) and
 * holds what a test scripts and watches: the popups opened, the confirmations asked.
 */
import { expect } from 'vitest';
import * as React from 'react';
import { act } from 'react';
import { WorkscriptClient } from '../src/api';
import {
  ConnectionsSection,
  type IConnectionsSectionProps
} from '../src/connections';
import type { IConnection } from '../src/connectionsApi';
import { createRoot, type IRoot } from './automation-fixtures';
import {
  errorBody,
  type IServerAnswer,
  type IServerRequest,
  scriptedFetch,
  trans
} from './editor-server';
import { settingsWith } from './fakes';

export const G = 'https://www.googleapis.com/auth/';
export const KNOWN: Record<string, string> = {
  openid: 'openid',
  email: `${G}userinfo.email`,
  profile: `${G}userinfo.profile`,
  'gmail.readonly': `${G}gmail.readonly`,
  'gmail.send': `${G}gmail.send`,
  'gmail.compose': `${G}gmail.compose`,
  'gmail.modify': `${G}gmail.modify`,
  'calendar.readonly': `${G}calendar.readonly`,
  calendar: `${G}calendar`,
  drive: `${G}drive`,
  'drive.file': `${G}drive.file`
};
export const CONSENT_URL = 'https://accounts.example/o/oauth2/auth?state=s1';

export function connection(extra: Partial<IConnection> = {}): IConnection {
  return {
    id: 'c1',
    provider: 'google',
    name: 'Work',
    email: 'ada@example.com',
    accountName: 'Ada Lovelace',
    accountId: '1102',
    scopes: [
      'openid',
      `${G}userinfo.email`,
      `${G}gmail.send`,
      `${G}drive.file`
    ],
    status: 'active',
    expiresAt: null,
    lastUsedAt: null,
    lastRefreshedAt: null,
    lastError: null,
    createdAt: '2026-12-01T00:00:00Z',
    updatedAt: '2026-12-01T00:00:00Z',
    ...extra
  };
}

/** The server's connections, and its answers to the connection routes (scriptable). */
export class FakeServer {
  items: IConnection[] = [];
  configured = true;
  /** A refusal of the list (a user without integration:read), when set. */
  listRefusal: IServerAnswer | null = null;
  connectAnswer: () => IServerAnswer | Promise<IServerAnswer> = () => ({
    status: 200,
    body: { url: CONSENT_URL, state: 's1', expiresAt: '', scopes: [] }
  });
  testAnswer: (r: IServerRequest) => IServerAnswer = () => ({
    status: 200,
    body: { ok: true, email: 'ada@example.com', connection: this.items[0] }
  });
  private readonly scripted = scriptedFetch(r => this.answer(r));
  requests = this.scripted.requests;
  fetch = this.scripted.fetch;

  calls(route: string): IServerRequest[] {
    return this.requests.filter(r => `${r.method} ${r.path}` === route);
  }

  private answer(r: IServerRequest): IServerAnswer | Promise<IServerAnswer> {
    const route = `${r.method} ${r.path}`;
    const id = r.path.split('/')[1];
    const found = this.items.find(c => c.id === id);
    if (route === 'GET integrations' && this.listRefusal) {
      return this.listRefusal;
    }
    if (route === 'GET integrations') {
      const items = this.configured ? this.items : [];
      const body = {
        items,
        count: items.length,
        configured: this.configured,
        scopes: KNOWN
      };
      return { status: 200, body };
    }
    if (route === 'POST integrations/google/connect') {
      return this.connectAnswer();
    }
    if (!found) {
      return {
        status: 404,
        body: errorBody('NOT_FOUND', 'no such connection')
      };
    }
    if (r.method === 'PATCH') {
      Object.assign(found, { name: r.body.name });
      return { status: 200, body: found };
    }
    if (r.method === 'DELETE') {
      this.items = this.items.filter(c => c !== found);
      return { status: 200, body: { deleted: true, revoked: true } };
    }
    return this.testAnswer(r);
  }
}

/** A consent popup stand-in: where it was sent, and whether it is closed. */
export class Popup {
  location = { href: 'about:blank' };
  closed = false;
  close() {
    this.closed = true;
  }
}

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

export async function waitFor<T>(
  check: () => T | null | undefined | false,
  what: string,
  timeout = 2000
): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const value = check();
    if (value) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error(
        `timed out waiting for ${what}:\n${document.body.innerHTML.slice(0, 3000)}`
      );
    }
    await act(() => sleep(10));
  }
}

export const $ = (testid: string, within: ParentNode = document) =>
  within.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
export const row = (id: string) =>
  document.querySelector<HTMLElement>(`[data-connection-id="${id}"]`);

export async function click(el: HTMLElement | null) {
  expect(el).not.toBeNull();
  await act(async () => el!.click());
}

export async function post(data: unknown, origin = window.location.origin) {
  await act(async () => {
    window.dispatchEvent(new MessageEvent('message', { data, origin }));
  });
}

/** The section drawn in a fresh host, and what the test scripts (popups blocked, the
 * answer to a confirmation) and watches (popups opened, confirmations asked). */
export class SectionHarness {
  server = new FakeServer();
  popups: Popup[] = [];
  blockPopups = false;
  confirmAnswer = true;
  confirmed: string[] = [];
  private root: IRoot | null = null;
  private readonly host = document.createElement('div');

  constructor() {
    (globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
    document.body.appendChild(this.host);
  }

  async render(extra: Partial<IConnectionsSectionProps> = {}): Promise<void> {
    const props: IConnectionsSectionProps = {
      client: new WorkscriptClient(settingsWith(this.server.fetch)),
      trans,
      confirm: async question => {
        this.confirmed.push(question.title);
        return this.confirmAnswer;
      },
      openPopup: () => {
        if (this.blockPopups) {
          return null;
        }
        const popup = new Popup();
        this.popups.push(popup);
        return popup as unknown as Window;
      },
      closedCheckMs: 20,
      ...extra
    };
    const root = await createRoot(this.host);
    this.root = root;
    await act(async () =>
      root.render(React.createElement(ConnectionsSection, props))
    );
    await waitFor(
      () => this.server.calls('GET integrations').length,
      'the list'
    );
  }

  async unmount(): Promise<void> {
    const root = this.root;
    if (root) {
      await act(async () => root.unmount());
    }
    this.host.remove();
  }
}

/** Open the form, and leave the default scopes ticked except the `flip`ped ones. */
export async function openForm(...flip: string[]) {
  await click($('workscript-connect-google'));
  for (const name of flip) {
    await click(document.querySelector<HTMLElement>(`[data-scope="${name}"]`));
  }
}
