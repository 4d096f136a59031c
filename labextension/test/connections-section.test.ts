// @vitest-environment jsdom
// The Connections section's list and its Connect Google flow, drawn by React in jsdom over a
// scripted server (connections-fixtures.ts): the popup opened within the click, the callback's
// message read only from the page's own origin, the list read again when the popup closes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { act } from 'react';
import { consentOutcome, shortScopes } from '../src/connectionsApi';
import {
  $,
  click,
  CONSENT_URL,
  connection,
  G,
  KNOWN,
  openForm,
  post,
  row,
  SectionHarness,
  sleep,
  waitFor
} from './connections-fixtures';
import { deferred, errorBody, type IServerAnswer } from './editor-server';

let h: SectionHarness;

beforeEach(() => {
  h = new SectionHarness();
});

afterEach(async () => {
  await h.unmount();
});

describe('the list', () => {
  it('shows each connection: name, email, status and scopes by short name', async () => {
    h.server.items = [
      connection(),
      connection({
        id: 'c2',
        name: 'Home',
        email: 'ada@home.example',
        status: 'needs_consent',
        lastError: 'Google revoked the grant',
        scopes: [`${G}calendar.readonly`]
      })
    ];
    await h.render();
    const first = await waitFor(() => row('c1'), 'row c1');
    expect(first.textContent).toContain('Work');
    expect(first.textContent).toContain('ada@example.com');
    expect($('workscript-connection-status', first)!.textContent).toBe(
      'active'
    );
    const scopes = Array.from(first.querySelectorAll('.jp-Workscript-scope'));
    expect(scopes.map(s => s.textContent)).toEqual([
      'gmail.send',
      'drive.file'
    ]);
    const second = row('c2')!;
    expect(second.dataset.status).toBe('needs_consent');
    expect($('workscript-connection-status', second)!.textContent).toBe(
      'needs re-consent'
    );
    expect(second.textContent).toContain('Google revoked the grant');
    expect($('workscript-connection-reconnect', second)).not.toBeNull();
    expect($('workscript-connection-reconnect', first)).toBeNull();
    expect(document.body.textContent).not.toMatch(/token/i);
  });

  it('says Google is not configured, and what the admin sets, with no Connect button', async () => {
    h.server.configured = false;
    await h.render();
    const text = await waitFor(
      () => $('workscript-connections-unconfigured'),
      'the not-configured text'
    );
    expect(text.textContent).toContain('not configured on this server');
    expect(text.textContent).toContain('GOOGLE_CLIENT_ID');
    expect(text.textContent).toContain('GOOGLE_CLIENT_SECRET');
    expect($('workscript-connect-google')).toBeNull();
  });

  it('says why the list cannot be read, and reads it again on Retry', async () => {
    h.server.listRefusal = {
      status: 403,
      body: errorBody('FORBIDDEN', 'no integration:read')
    };
    await h.render();
    const alert = await waitFor(
      () => document.querySelector<HTMLElement>('[role=alert]'),
      'the error'
    );
    expect(alert.textContent).toContain('Not allowed: no integration:read');
    h.server.listRefusal = null;
    h.server.items = [connection()];
    await click(alert.querySelector('button'));
    await waitFor(() => row('c1'), 'the row after Retry');
  });
});

describe('Connect Google', () => {
  it('opens the popup within the click, then sends it to the consent page', async () => {
    const held = deferred<IServerAnswer>();
    h.server.connectAnswer = () => held.promise;
    await h.render();
    await openForm('gmail.compose', 'drive.file');
    await click($('workscript-connect-continue'));
    // the popup exists before the server answered: opened by the click itself
    expect(h.popups).toHaveLength(1);
    expect(h.popups[0].location.href).toBe('about:blank');
    const [asked] = h.server.calls('POST integrations/google/connect');
    expect(asked.body).toEqual({
      scopes: ['gmail.readonly', 'gmail.send', 'gmail.compose', 'calendar']
    });
    held.resolve({
      status: 200,
      body: { url: CONSENT_URL, state: 's1', expiresAt: '', scopes: [] }
    });
    await waitFor(
      () => h.popups[0].location.href === CONSENT_URL,
      'the consent page'
    );
  });

  it('reads the list again on the callback message of its own origin only', async () => {
    await h.render();
    await openForm();
    await click($('workscript-connect-continue'));
    await waitFor(
      () => h.popups[0].location.href === CONSENT_URL,
      'the consent page'
    );
    const reads = () => h.server.calls('GET integrations').length;
    const before = reads();
    h.server.items = [connection()];
    const connected = {
      type: 'workscript:google-connected',
      connection: { id: 'c1', email: 'ada@example.com', name: 'Work' }
    };
    await post(connected, 'https://evil.example');
    await post({ type: 'something-else', connection: {} });
    await act(() => sleep(50));
    expect(reads()).toBe(before);
    expect(row('c1')).toBeNull();

    await post(connected);
    await waitFor(() => row('c1'), 'the new connection');
    expect($('workscript-connections-notice')!.textContent).toBe(
      'Connected ada@example.com.'
    );
    expect($('workscript-connect-form')).toBeNull();
  });

  it('says a refused consent', async () => {
    await h.render();
    await post({ type: 'workscript:google-failed', error: 'access_denied' });
    const notice = await waitFor(
      () => $('workscript-connections-notice'),
      'the notice'
    );
    expect(notice.getAttribute('role')).toBe('alert');
    expect(notice.textContent).toContain('access_denied');
  });

  it('reads the list again when the popup closes, however it closed', async () => {
    await h.render();
    await openForm();
    await click($('workscript-connect-continue'));
    await waitFor(
      () => h.popups[0].location.href === CONSENT_URL,
      'the consent page'
    );
    await act(() => sleep(60));
    const before = h.server.calls('GET integrations').length;
    h.server.items = [connection()];
    h.popups[0].close();
    await waitFor(() => row('c1'), 'the list read after the close');
    expect(h.server.calls('GET integrations').length).toBe(before + 1);
  });

  it('closes the popup and names the field when the server refuses', async () => {
    h.server.connectAnswer = () => ({
      status: 400,
      body: errorBody('VALIDATION_ERROR', 'bad scopes', [
        { field: 'scopes[0]', message: 'unknown scope "gmail.everything"' }
      ])
    });
    await h.render();
    await openForm();
    await click($('workscript-connect-continue'));
    const notice = await waitFor(
      () => $('workscript-connections-notice'),
      'the refusal'
    );
    expect(notice.textContent).toContain('bad scopes');
    expect(notice.textContent).toContain('scopes[0]: unknown scope');
    expect(h.popups[0].closed).toBe(true);
  });

  it('offers a link when the browser blocked the popup', async () => {
    h.blockPopups = true;
    await h.render();
    await openForm();
    await click($('workscript-connect-continue'));
    const blocked = await waitFor(
      () => $('workscript-connect-blocked'),
      'the link'
    );
    expect(blocked.querySelector('a')!.getAttribute('href')).toBe(CONSENT_URL);
  });

  it('asks for at least one scope before anything is sent', async () => {
    await h.render();
    await openForm('gmail.readonly', 'gmail.send', 'calendar', 'drive.file');
    const go = $('workscript-connect-continue') as HTMLButtonElement;
    expect(go.disabled).toBe(true);
    expect(document.body.textContent).toContain('scopes: tick at least one');
    await act(async () => {
      go.form!.dispatchEvent(
        new Event('submit', { bubbles: true, cancelable: true })
      );
    });
    expect(h.server.calls('POST integrations/google/connect')).toHaveLength(0);
    expect(h.popups).toHaveLength(0);
  });
});

describe('the helpers', () => {
  it('reads only the callback messages of its own origin and types', () => {
    const own = 'http://lab.test';
    const data = { type: 'workscript:google-failed', error: 'denied' };
    expect(consentOutcome({ origin: own, data }, own)).toEqual({
      kind: 'failed',
      error: 'denied'
    });
    expect(consentOutcome({ origin: 'http://other', data }, own)).toBeNull();
    expect(consentOutcome({ origin: own, data: 'text' }, own)).toBeNull();
    expect(
      consentOutcome({ origin: own, data: { type: 'x' } }, own)
    ).toBeNull();
  });

  it('names scopes by their short names, identity scopes left out', () => {
    const scopes = [
      `${G}drive`,
      'openid',
      `${G}userinfo.profile`,
      `${G}gmail.send`
    ];
    expect(shortScopes(scopes, KNOWN)).toEqual(['gmail.send', 'drive']);
    expect(shortScopes([`${G}tasks`], KNOWN)).toEqual(['tasks']);
  });
});
