// @vitest-environment jsdom
// The automation form rendered by React into jsdom, talking through the real WorkscriptClient
// (and Jupyter's ServerConnection) to a scripted server, with a real Lumino command registry.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as React from 'react';
import { act } from 'react';
import { CommandRegistry } from '@lumino/commands';
import { WorkscriptClient, type IAutomation, type IFire } from '../src/api';
import { CommandIds } from '../src/context';
import {
  AutomationView,
  type IAutomationViewProps
} from '../src/automations/view';
import {
  createRoot,
  type IRoot,
  automation as storedAutomation
} from './automation-fixtures';
import {
  errorBody,
  type Handler,
  type IServerAnswer,
  type IServerRequest,
  scriptedFetch,
  trans
} from './editor-server';
import { settingsWith } from './fakes';

/** A scripted Workscript server: `on('GET automations/a1', handler)`; every request logged. */
class FakeServer {
  handlers = new Map<string, Handler>();
  private readonly scripted = scriptedFetch(request => this.answer(request));
  requests = this.scripted.requests;
  fetch = this.scripted.fetch;

  on(route: string, handler: Handler | IServerAnswer | Error): this {
    this.handlers.set(
      route,
      typeof handler === 'function' ? handler : () => handler
    );
    return this;
  }

  calls(route: string): IServerRequest[] {
    return this.requests.filter(r => `${r.method} ${r.path}` === route);
  }

  private answer(request: IServerRequest) {
    const handler = this.handlers.get(`${request.method} ${request.path}`);
    return handler
      ? handler(request)
      : {
          status: 404,
          body: errorBody('NOT_FOUND', `no route ${request.path}`)
        };
  }
}

/** A stored automation, in UTC. */
const automation = (extra: Partial<IAutomation> = {}): IAutomation =>
  storedAutomation({
    timezone: 'UTC',
    nextRunAt: '2026-12-04T02:00:00Z',
    ...extra
  });

const fire = (id: string, extra: Partial<IFire> = {}): IFire => ({
  id,
  automationId: 'a1',
  scheduledFor: '2026-12-03T02:00:00Z',
  claimedBy: 'srv',
  claimedAt: '2026-12-03T02:00:00Z',
  outcome: 'fired',
  reason: null,
  executionId: `run-${id}`,
  ...extra
});

function cronAnswer(expression: string, words: string) {
  return {
    status: 200,
    body: {
      valid: true,
      expression,
      timezone: 'UTC',
      hasSeconds: false,
      description: words,
      nextRuns: [1, 2, 3, 4, 5].map(d => `2026-12-0${d}T09:00:00Z`),
      nextRunsLocal: [1, 2, 3, 4, 5].map(d => `2026-12-0${d}T09:00:00+00:00`)
    }
  };
}

const page = (items: unknown[], nextCursor: string | null = null) => ({
  status: 200,
  body: { items, nextCursor }
});

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function waitFor<T>(
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

const $ = (testid: string) =>
  document.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
const $$ = (selector: string) =>
  Array.from(document.querySelectorAll<HTMLElement>(selector));

/** Type into an input, textarea or select the way a user does (React sees an input event). */
async function type(testid: string, value: string) {
  const el = $(testid) as HTMLInputElement;
  expect(el, testid).not.toBeNull();
  const proto = Object.getPrototypeOf(el);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
  await act(async () => {
    el.dispatchEvent(
      new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true })
    );
  });
}

async function click(el: HTMLElement | null) {
  expect(el).not.toBeNull();
  await act(async () => el!.click());
}

/** The error shown beside the field whose control is `testid`. */
function errorOf(testid: string): string | null {
  const control = $(testid)!;
  const ids = (control.getAttribute('aria-describedby') ?? '').split(' ');
  const error = ids
    .map(id => document.getElementById(id))
    .find(el => el?.classList.contains('jp-Workscript-fieldError'));
  return error?.textContent ?? null;
}

let server: FakeServer;
let root: IRoot | null;
let host: HTMLElement;
let commands: CommandRegistry;
let opened: string[];
let stored: IAutomation[];
let deleted: number;
let changed: number;
let dirty: boolean[];
let copied: string[];
let confirmAnswer: boolean;
let confirmed: string[];

beforeEach(() => {
  (globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
  server = new FakeServer()
    .on(
      'GET workflows',
      page([
        { id: 'w1', name: 'Daily report' },
        { id: 'w2', name: 'Cleanup' }
      ])
    )
    .on('POST cron/validate', r =>
      cronAnswer(r.body.expression, `words for ${r.body.expression}`)
    )
    .on('GET automations/a1/fires', page([]))
    .on('GET automations/a1/executions', page([]));
  commands = new CommandRegistry();
  opened = [];
  commands.addCommand(CommandIds.openRun, {
    execute: args => {
      opened.push(String(args.id));
    }
  });
  stored = [];
  deleted = 0;
  changed = 0;
  dirty = [];
  copied = [];
  confirmAnswer = true;
  confirmed = [];
  host = document.createElement('div');
  document.body.appendChild(host);
  root = null;
});

afterEach(async () => {
  if (root) {
    await act(async () => root!.unmount());
  }
  host.remove();
});

async function render(extra: Partial<IAutomationViewProps> = {}) {
  const props: IAutomationViewProps = {
    client: new WorkscriptClient(settingsWith(server.fetch)),
    trans,
    commands,
    automationId: null,
    visible: true,
    origin: 'http://page.origin',
    zone: 'UTC',
    confirm: async options => {
      confirmed.push(options.title);
      return confirmAnswer;
    },
    copy: async text => {
      copied.push(text);
    },
    onStored: a => stored.push(a),
    onDeleted: () => deleted++,
    onChanged: () => changed++,
    onDirty: d => dirty.push(d),
    pollMs: 60,
    ...extra
  };
  root = await createRoot(host);
  await act(async () =>
    root!.render(React.createElement(AutomationView, props))
  );
  return props;
}

describe('a new automation', () => {
  it('previews the cron in words and its next five times, live', async () => {
    await render({ prefill: { workflowId: 'w2' } });
    await waitFor(() => $('workscript-cron-words'), 'the words');
    expect($('workscript-cron-words')!.textContent).toBe('words for 0 9 * * *');
    const times = $$('[data-testid="workscript-cron-preview"] li');
    expect(times).toHaveLength(5);
    expect(times[0].textContent).toMatch(/09:00/);
    expect(server.calls('POST cron/validate')[0].body).toEqual({
      expression: '0 9 * * *',
      timezone: 'UTC',
      count: 5
    });

    server.on('POST cron/validate', r =>
      r.body.expression === 'bad'
        ? {
            status: 200,
            body: {
              valid: false,
              error: 'not 5 or 6 fields',
              field: 'day_of_month'
            }
          }
        : cronAnswer(r.body.expression, 'x')
    );
    await type('workscript-automation-cron', 'bad');
    const error = await waitFor(
      () => $('workscript-cron-error'),
      'the cron error'
    );
    expect(error.textContent).toBe('Invalid day of month: not 5 or 6 fields');
    expect($('workscript-automation-cron')!.getAttribute('aria-invalid')).toBe(
      'true'
    );
    expect($('workscript-cron-words')).toBeNull();
  });

  it('asks once per pause in typing and drops a stale answer', async () => {
    const gates: Record<string, () => void> = {};
    server.on(
      'POST cron/validate',
      r =>
        new Promise(resolve => {
          gates[r.body.expression] = () =>
            resolve(
              cronAnswer(r.body.expression, `words for ${r.body.expression}`)
            );
        })
    );
    await render({ prefill: { workflowId: 'w1' } });
    await waitFor(() => gates['0 9 * * *'], 'the first question');
    // typing fast: one question for the last text only
    await type('workscript-automation-cron', '*/5 * * * *');
    await type('workscript-automation-cron', '*/10 * * * *');
    await waitFor(() => gates['*/10 * * * *'], 'the question after the pause');
    expect(
      server.calls('POST cron/validate').map(r => r.body.expression)
    ).toEqual(['0 9 * * *', '*/10 * * * *']);
    // the newest answer first, then the stale one: the stale one is not shown
    await act(async () => gates['*/10 * * * *']());
    await waitFor(() => $('workscript-cron-words'), 'the words');
    await act(async () => gates['0 9 * * *']());
    await act(() => sleep(30));
    expect($('workscript-cron-words')!.textContent).toBe(
      'words for */10 * * * *'
    );
  });

  it('shows a timezone fault on the zone field and a server failure in words', async () => {
    server.on('POST cron/validate', r =>
      r.body.timezone === 'Mars/Base'
        ? {
            status: 200,
            body: {
              valid: false,
              error: "unknown time zone 'Mars/Base'",
              field: 'timezone'
            }
          }
        : new Error('connection refused')
    );
    await render({ prefill: { workflowId: 'w1' } });
    const down = await waitFor(() => $('workscript-cron-error'), 'the failure');
    expect(down.textContent).toMatch(/cannot be reached/);
    await type('workscript-automation-timezone', 'Mars/Base');
    await waitFor(
      () =>
        $('workscript-cron-error')?.getAttribute('data-field') === 'timezone',
      'the zone fault'
    );
    expect(
      $('workscript-automation-timezone')!.getAttribute('aria-invalid')
    ).toBe('true');
    expect(
      $('workscript-automation-cron')!.getAttribute('aria-invalid')
    ).toBeNull();
  });

  it('creates it from the form, then goes on as the stored one', async () => {
    server.on('POST automations', r => ({
      status: 201,
      body: automation({ ...r.body, id: 'a1', retries: r.body.retries })
    }));
    await render();
    await waitFor(
      () =>
        $$('[data-testid="workscript-automation-workflowId"] option').length ===
        3,
      'the workflows'
    );
    expect(
      $$('[data-testid="workscript-automation-workflowId"] option').map(
        o => o.textContent
      )
    ).toEqual(['Choose a workflow', 'Daily report', 'Cleanup']);
    await type('workscript-automation-name', 'Nightly');
    await type('workscript-automation-workflowId', 'w2');
    await type('workscript-automation-retryCount', '2');
    await click($('workscript-automation-save'));
    await waitFor(() => stored.length === 1, 'the create');
    expect(server.calls('POST automations')[0].body).toEqual({
      name: 'Nightly',
      workflowId: 'w2',
      triggerType: 'cron',
      cron: '0 9 * * *',
      timezone: 'UTC',
      enabled: true,
      misfirePolicy: 'run_once',
      misfireGraceSeconds: 3600,
      overlapPolicy: 'skip',
      retries: { count: 2, delaySeconds: 60, backoff: 2 },
      timeoutSeconds: null
    });
    expect(stored[0].id).toBe('a1');
    expect($('workscript-automation-notice')!.textContent).toBe(
      'Automation created.'
    );
    // the stored automation's parts appear: toolbar, history
    expect($('workscript-automation-run')).not.toBeNull();
    await waitFor(
      () => server.calls('GET automations/a1/fires').length > 0,
      'the fires'
    );
    expect($('workscript-automation-save')!.textContent).toBe('Save');
  });

  it('puts each field of a 400 beside its field and creates nothing', async () => {
    server.on('POST automations', {
      status: 400,
      body: {
        error: {
          code: 'BAD_REQUEST',
          message: 'invalid automation: name: ...',
          details: [
            {
              field: 'name',
              message: 'must be a non-empty string of at most 200 characters'
            },
            {
              field: 'retries.count',
              message: 'must be an integer from 0 to 10, not 11'
            },
            { field: 'mystery', message: 'is not a field of an automation' }
          ]
        }
      }
    });
    await render({ prefill: { workflowId: 'w1' } });
    await type('workscript-automation-retryCount', '11');
    await click($('workscript-automation-save'));
    await waitFor(
      () => errorOf('workscript-automation-name'),
      'the name error'
    );
    expect(errorOf('workscript-automation-name')).toBe(
      'must be a non-empty string of at most 200 characters'
    );
    expect(errorOf('workscript-automation-retryCount')).toBe(
      'must be an integer from 0 to 10, not 11'
    );
    expect($('workscript-automation-name')!.getAttribute('aria-invalid')).toBe(
      'true'
    );
    expect($('workscript-automation-save-error')!.textContent).toContain(
      'mystery: is not a field'
    );
    expect(stored).toEqual([]);
    // the error goes when the field is edited
    await type('workscript-automation-name', 'ok');
    expect(errorOf('workscript-automation-name')).toBeNull();
  });

  it('refuses parameters that are not a JSON object before sending', async () => {
    await render({
      prefill: { notebookPath: 'n.ipynb', parameters: { alpha: 0.5 } }
    });
    expect(
      ($('workscript-automation-parameters') as HTMLTextAreaElement).value
    ).toContain('"alpha": 0.5');
    expect(($('workscript-automation-name') as HTMLInputElement).value).toBe(
      'n'
    );
    await type('workscript-automation-parameters', '[1]');
    expect(errorOf('workscript-automation-parameters')).toMatch(/JSON object/);
    await click($('workscript-automation-save'));
    await act(() => sleep(20));
    expect(server.calls('POST automations')).toEqual([]);
  });

  it('shows a webhook URL once, absolute, with Copy', async () => {
    server.on('POST automations', r => ({
      status: 201,
      body: automation({
        ...r.body,
        triggerType: 'webhook',
        hasWebhookToken: true,
        webhookToken: 'tok_1',
        webhookPath: '/workscript/hooks/tok_1'
      })
    }));
    await render({ prefill: { workflowId: 'w1' } });
    await type('workscript-automation-name', 'Hook');
    await type('workscript-automation-triggerType', 'webhook');
    expect($('workscript-cron-preview')).toBeNull();
    expect($('workscript-webhook-state')!.textContent).toMatch(/when you save/);
    await click($('workscript-automation-save'));
    const url = await waitFor(
      () => $('workscript-webhook-url') as HTMLInputElement,
      'the URL'
    );
    expect(url.value).toBe('http://lab.test/user/ana/workscript/hooks/tok_1');
    expect(server.calls('POST automations')[0].body.cron).toBeUndefined();
    await click($('workscript-webhook-copy'));
    expect(copied).toEqual(['http://lab.test/user/ana/workscript/hooks/tok_1']);
    expect(document.body.textContent).toContain('Copied.');
  });
});

describe('a stored automation', () => {
  it('says so when it does not exist, is not allowed, or the server is down', async () => {
    server.on('GET automations/a1', {
      status: 404,
      body: {
        error: { code: 'NOT_FOUND', message: 'no automation a1', details: null }
      }
    });
    await render({ automationId: 'a1' });
    const missing = await waitFor(
      () => $('workscript-automation-error'),
      'the 404'
    );
    expect(missing.textContent).toMatch(/does not exist, or is not yours/);
    // nothing to retry: it will not come back
    expect(missing.querySelector('button')).toBeNull();
    await act(async () => root!.unmount());
    root = null;

    server.on('GET automations/a1', {
      status: 403,
      body: {
        error: {
          code: 'FORBIDDEN',
          message: 'automation:read is needed',
          details: null
        }
      }
    });
    await render({ automationId: 'a1' });
    const refused = await waitFor(
      () => $('workscript-automation-error'),
      'the 403'
    );
    expect(refused.textContent).toMatch(
      /^Not allowed: automation:read is needed/
    );
    await act(async () => root!.unmount());
    root = null;

    server.on('GET automations/a1', new Error('connection refused'));
    await render({ automationId: 'a1' });
    const down = await waitFor(
      () => $('workscript-automation-error'),
      'the failure'
    );
    expect(down.textContent).toMatch(/cannot be reached/);
    server.on('GET automations/a1', { status: 200, body: automation() });
    await click(down.querySelector('button'));
    await waitFor(() => $('workscript-automation-name'), 'the form');
    expect(($('workscript-automation-name') as HTMLInputElement).value).toBe(
      'Nightly'
    );
  });

  it('saves only the fields changed, and is dirty until then', async () => {
    server
      .on('GET automations/a1', { status: 200, body: automation() })
      .on('PUT automations/a1', r => ({
        status: 200,
        body: automation(r.body)
      }));
    await render({ automationId: 'a1' });
    await waitFor(() => $('workscript-automation-cron'), 'the form');
    expect(stored.map(a => a.id)).toEqual(['a1']);
    expect(
      ($('workscript-automation-save') as HTMLButtonElement).disabled
    ).toBe(true);
    await type('workscript-automation-cron', '*/15 * * * *');
    await type('workscript-automation-timeoutSeconds', '90');
    expect(dirty[dirty.length - 1]).toBe(true);
    await click($('workscript-automation-save'));
    await waitFor(
      () => server.calls('PUT automations/a1').length === 1,
      'the update'
    );
    expect(server.calls('PUT automations/a1')[0].body).toEqual({
      cron: '*/15 * * * *',
      timeoutSeconds: 90
    });
    await waitFor(() => dirty[dirty.length - 1] === false, 'clean again');
    expect($('workscript-automation-notice')!.textContent).toBe(
      'Automation saved.'
    );
  });

  it('runs now, toggles and deletes from its toolbar', async () => {
    server
      .on('GET automations/a1', { status: 200, body: automation() })
      .on('POST automations/a1/execute', {
        status: 202,
        body: { id: 'run-9', status: 'queued' }
      })
      .on('PATCH automations/a1/toggle', r => ({
        status: 200,
        body: automation({ enabled: r.body.enabled })
      }))
      .on('DELETE automations/a1', { status: 204 });
    await render({ automationId: 'a1' });
    await waitFor(() => $('workscript-automation-run'), 'the toolbar');
    expect(changed).toBe(0); // reading it changes nothing

    await click($('workscript-automation-run'));
    await waitFor(() => opened.length === 1, 'the run opened');
    expect(opened).toEqual(['run-9']);

    const enabled = $('workscript-automation-enabled') as HTMLInputElement;
    expect(enabled.checked).toBe(true);
    await click(enabled);
    await waitFor(
      () => !($('workscript-automation-enabled') as HTMLInputElement).checked,
      'disabled'
    );
    expect(server.calls('PATCH automations/a1/toggle')[0].body).toEqual({
      enabled: false
    });
    expect(changed).toBe(1); // the sidebar is told of the toggle

    confirmAnswer = false;
    await click($('workscript-automation-delete'));
    await act(() => sleep(20));
    expect(confirmed).toEqual(['Delete automation']);
    expect(server.calls('DELETE automations/a1')).toEqual([]);
    confirmAnswer = true;
    await click($('workscript-automation-delete'));
    await waitFor(() => deleted === 1, 'the delete');
    expect(server.calls('DELETE automations/a1')).toHaveLength(1);
    expect(changed).toBe(2); // and of the delete
  });

  it('shows a refused action in words', async () => {
    server
      .on('GET automations/a1', { status: 200, body: automation() })
      .on('POST automations/a1/execute', {
        status: 403,
        body: {
          error: {
            code: 'FORBIDDEN',
            message: 'automation:execute is needed',
            details: null
          }
        }
      });
    await render({ automationId: 'a1' });
    await click(
      await waitFor(() => $('workscript-automation-run'), 'the toolbar')
    );
    const error = await waitFor(
      () => $('workscript-automation-action-error'),
      'the error'
    );
    expect(error.textContent).toBe('Not allowed: automation:execute is needed');
    expect(opened).toEqual([]);
  });

  it('says "token set" and rotates the webhook after a confirmation', async () => {
    server
      .on('GET automations/a1', {
        status: 200,
        body: automation({
          triggerType: 'webhook',
          cron: null,
          hasWebhookToken: true
        })
      })
      .on('POST automations/a1/webhook/rotate', {
        status: 200,
        body: automation({
          triggerType: 'webhook',
          hasWebhookToken: true,
          webhookToken: 'tok_2',
          webhookPath: '/workscript/hooks/tok_2'
        })
      });
    await render({ automationId: 'a1' });
    const state = await waitFor(
      () => $('workscript-webhook-state'),
      'the webhook'
    );
    expect(state.textContent).toMatch(/^Token set/);
    expect($('workscript-webhook-url')).toBeNull();
    confirmAnswer = false;
    await click($('workscript-webhook-rotate'));
    await act(() => sleep(20));
    expect(server.calls('POST automations/a1/webhook/rotate')).toEqual([]);
    confirmAnswer = true;
    await click($('workscript-webhook-rotate'));
    const url = await waitFor(
      () => $('workscript-webhook-url') as HTMLInputElement,
      'the URL'
    );
    expect(url.value).toBe('http://lab.test/user/ana/workscript/hooks/tok_2');
    expect(confirmed).toEqual(['Rotate webhook token', 'Rotate webhook token']);
  });

  it('lists its fires with outcome and reason, links runs, loads more, stays fresh', async () => {
    let fires = [
      fire('f3', {
        outcome: 'skipped',
        reason: 'previous run still going',
        executionId: null
      }),
      fire('f2', {
        outcome: 'failed',
        reason: 'workflow deleted',
        executionId: null
      })
    ];
    server
      .on('GET automations/a1', { status: 200, body: automation() })
      .on('GET automations/a1/fires', r =>
        r.query.get('cursor') === 'c1'
          ? page([fire('f2'), fire('f1')])
          : page(fires, 'c1')
      )
      .on(
        'GET automations/a1/executions',
        page([
          {
            id: 'run-f1',
            workflowId: 'w1',
            automationId: 'a1',
            ownerId: 'u1',
            status: 'completed',
            trigger: 'cron',
            error: null,
            nodeRuns: 3,
            attempt: 1,
            createdAt: '2026-12-01T02:00:00Z',
            startedAt: '2026-12-01T02:00:00Z',
            endedAt: '2026-12-01T02:00:01Z',
            durationMs: 1200
          }
        ])
      );
    await render({ automationId: 'a1' });
    await waitFor(() => $$('.jp-Workscript-fire').length === 2, 'the fires');
    const rows = $$('.jp-Workscript-fire');
    expect(rows.map(r => r.dataset.outcome)).toEqual(['skipped', 'failed']);
    expect(rows[0].textContent).toContain('previous run still going');
    expect(rows[0].querySelector('button')).toBeNull();

    await click(document.querySelector('.jp-Workscript-more') as HTMLElement);
    await waitFor(
      () => $$('.jp-Workscript-fire').length === 3,
      'the next page'
    );
    expect($$('.jp-Workscript-fire').map(r => r.dataset.outcome)).toEqual([
      'skipped',
      'failed',
      'fired'
    ]);
    await click($$('.jp-Workscript-fire')[2].querySelector('button'));
    expect(opened).toEqual(['run-f1']);

    // a new tick comes in: the poll shows it first, the loaded page stays
    fires = [fire('f4'), ...fires];
    await waitFor(() => $$('.jp-Workscript-fire').length === 4, 'the new fire');
    expect($$('.jp-Workscript-fire').map(r => r.dataset.outcome)).toEqual([
      'fired',
      'skipped',
      'failed',
      'fired'
    ]);

    const runs = $$('[data-testid="workscript-automation-runs"] li');
    expect(runs).toHaveLength(1);
    expect(runs[0].textContent).toContain('completed');
    await click(runs[0].querySelector('button'));
    expect(opened).toEqual(['run-f1', 'run-f1']);
  });

  it('reads its history only while the tab is visible', async () => {
    server.on('GET automations/a1', { status: 200, body: automation() });
    const props = await render({ automationId: 'a1', visible: false });
    await waitFor(() => $('workscript-automation-name'), 'the form');
    await act(() => sleep(200));
    expect(server.calls('GET automations/a1/fires')).toEqual([]);
    await act(async () =>
      root!.render(
        React.createElement(AutomationView, { ...props, visible: true })
      )
    );
    await waitFor(
      () => server.calls('GET automations/a1/fires').length >= 2,
      'the polls'
    );
    await act(async () =>
      root!.render(
        React.createElement(AutomationView, { ...props, visible: false })
      )
    );
    const count = server.calls('GET automations/a1/fires').length;
    await act(() => sleep(200));
    expect(server.calls('GET automations/a1/fires').length).toBe(count);
  });
});
