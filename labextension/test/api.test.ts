import { afterEach, describe, expect, it } from 'vitest';
import { WorkscriptClient, WorkscriptError } from '../src/api';
import { fakeFetch, settingsWith } from './fakes';

const page = (items: unknown[], nextCursor: string | null = null) => ({
  status: 200,
  body: { items, nextCursor }
});

// Lab's settings ask for `cache: 'no-store'`, so ServerConnection appends a cache buster
const withoutBuster = (url: string) => url.replace(/[?&]\d{13}$/, '');

afterEach(() => {
  delete (globalThis as any).document;
});

describe('WorkscriptClient', () => {
  it('calls under the base URL with Jupyter token and XSRF headers', async () => {
    const { fetch, requests } = fakeFetch(() => page([]));
    const client = new WorkscriptClient(settingsWith(fetch, { token: 'tok' }));
    // ServerConnection reads the _xsrf cookie from the page, as in the browser
    (globalThis as any).document = { cookie: 'other=1; _xsrf=xsrf-value' };
    await client.listWorkflows({ name: 'daily report', limit: 20 });
    expect(requests).toHaveLength(1);
    expect(withoutBuster(requests[0].url)).toBe(
      'http://lab.test/user/ana/workscript/workflows?name=daily%20report&limit=20'
    );
    expect(requests[0].headers.get('Authorization')).toBe('token tok');
    expect(requests[0].headers.get('X-XSRFToken')).toBe('xsrf-value');
  });

  it('pages executions with the cursor and repeats the status filter', async () => {
    const { fetch, requests } = fakeFetch(request =>
      request.url.includes('cursor=')
        ? page([{ id: 'e2' }])
        : page([{ id: 'e1' }], 'c/1')
    );
    const client = new WorkscriptClient(settingsWith(fetch));
    const first = await client.listExecutions({
      status: ['running', 'queued'],
      workflowId: 'w1'
    });
    expect(first.nextCursor).toBe('c/1');
    const second = await client.listExecutions({ cursor: first.nextCursor });
    expect(second.items.map(e => e.id)).toEqual(['e2']);
    expect(second.nextCursor).toBeNull();
    expect(withoutBuster(requests[0].url)).toBe(
      'http://lab.test/user/ana/workscript/executions?workflowId=w1&status=running&status=queued'
    );
    expect(withoutBuster(requests[1].url)).toBe(
      'http://lab.test/user/ana/workscript/executions?cursor=c%2F1'
    );
  });

  it('follows nextCursor in all() and stops at the last page', async () => {
    const { fetch, requests } = fakeFetch(request =>
      request.url.includes('cursor=a')
        ? page([{ id: 'a2' }])
        : page([{ id: 'a1' }], 'a')
    );
    const client = new WorkscriptClient(settingsWith(fetch));
    const all = await client.all(cursor => client.listAutomations({ cursor }));
    expect(all.map(a => a.id)).toEqual(['a1', 'a2']);
    expect(requests).toHaveLength(2);
  });

  it('stops all() at maxPages even when the server always has more', async () => {
    let calls = 0;
    // a runaway loop ends in an error here rather than hanging the test run
    const { fetch, requests } = fakeFetch(() =>
      ++calls > 10 ? new Error('runaway paging') : page([{ id: 'x' }], 'again')
    );
    const client = new WorkscriptClient(settingsWith(fetch));
    const all = await client.all(
      cursor => client.listAutomations({ cursor }),
      3
    );
    expect(all).toHaveLength(3);
    expect(requests).toHaveLength(3);
  });

  it('posts JSON bodies for validate, run, toggle and cron/validate', async () => {
    const { fetch, requests } = fakeFetch(() => ({ status: 200, body: {} }));
    const client = new WorkscriptClient(settingsWith(fetch));
    await client.validateWorkflow({ workflow: [] });
    await client.runWorkflow('w 1', { a: 1 }, 5);
    await client.toggleAutomation('a1', false);
    await client.validateCron('*/2 * * * * *', 'Europe/Paris');
    expect(
      requests.map(r => [
        r.method,
        withoutBuster(r.url).replace('http://lab.test/user/ana/', '')
      ])
    ).toEqual([
      ['POST', 'workscript/workflows/validate'],
      ['POST', 'workscript/workflows/w%201/run?wait=5'],
      ['PATCH', 'workscript/automations/a1/toggle'],
      ['POST', 'workscript/cron/validate']
    ]);
    for (const request of requests) {
      expect(request.headers.get('Content-Type')).toBe('application/json');
    }
    expect(JSON.parse(requests[0].body)).toEqual({
      definition: { workflow: [] }
    });
    expect(JSON.parse(requests[1].body)).toEqual({ initialState: { a: 1 } });
    expect(JSON.parse(requests[2].body)).toEqual({ enabled: false });
    expect(JSON.parse(requests[3].body)).toEqual({
      expression: '*/2 * * * * *',
      timezone: 'Europe/Paris'
    });
  });

  it('maps the server error shape with its details and Retry-After', async () => {
    const { fetch } = fakeFetch(() => ({
      status: 429,
      headers: { 'Retry-After': '7' },
      body: {
        error: {
          code: 'TOO_MANY_RUNS',
          message: 'too many queued runs',
          details: { limit: 100 }
        }
      }
    }));
    const client = new WorkscriptClient(settingsWith(fetch));
    const error = await client.runWorkflow('w1').catch(e => e);
    expect(error).toBeInstanceOf(WorkscriptError);
    expect(error).toMatchObject({
      status: 429,
      code: 'TOO_MANY_RUNS',
      message: 'too many queued runs',
      details: { limit: 100 },
      retryAfterSeconds: 7
    });
  });

  it("maps Jupyter's own {message, reason} refusals", async () => {
    const { fetch } = fakeFetch(() => ({
      status: 403,
      body: { message: "'_xsrf' argument missing from POST", reason: null }
    }));
    const client = new WorkscriptClient(settingsWith(fetch));
    const error = await client.validateCron('* * * * *').catch(e => e);
    expect(error).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      message: "'_xsrf' argument missing from POST"
    });
  });

  it('maps an answer without a JSON body to HTTP_<status>', async () => {
    const { fetch } = fakeFetch(() => ({
      status: 502,
      body: '<html>bad gateway</html>'
    }));
    const client = new WorkscriptClient(settingsWith(fetch));
    const error = await client.getExecution('e1').catch(e => e);
    expect(error).toMatchObject({ status: 502, code: 'HTTP_502' });
    expect(error.message).toContain('GET /workscript/executions/e1');
  });

  it('maps an unreachable server to NETWORK_ERROR', async () => {
    const { fetch } = fakeFetch(() => new TypeError('Failed to fetch'));
    const client = new WorkscriptClient(settingsWith(fetch));
    const error = await client.listAutomations().catch(e => e);
    expect(error).toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
    expect(error.message).toContain('Failed to fetch');
  });

  it('refuses a 200 whose body is not JSON', async () => {
    const { fetch } = fakeFetch(() => ({ status: 200, body: 'not json' }));
    const client = new WorkscriptClient(settingsWith(fetch));
    const error = await client.listWorkflows().catch(e => e);
    expect(error).toMatchObject({ status: 200, code: 'BAD_RESPONSE' });
  });
});
