import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serialize } from '../src/editor/document';
import { WorkflowSession } from '../src/editor/session';
import { WorkscriptSocket } from '../src/socket';
import {
  errorBody,
  Handler,
  IServerRequest,
  scriptedServer,
  SVG,
  trans
} from './editor-server';
import { FakeSocket, fakeFetch, settingsWith } from './fakes';

const DEFINITION = {
  id: 'daily',
  name: 'Daily',
  version: '1.0.0',
  description: 'every day',
  initialState: { n: 1 },
  workflow: [{ log: { message: 'hello' } }]
};

const RECORD = {
  id: 'rec-1',
  name: 'Daily',
  description: 'every day',
  version: '1.0.0',
  definition: DEFINITION,
  ownerId: 'u1',
  createdAt: '2025-01-01T00:00:00Z',
  updatedAt: '2025-01-01T00:00:00Z'
};

const RUN = {
  id: 'run-1',
  workflowId: 'rec-1',
  automationId: null,
  ownerId: 'u1',
  status: 'completed',
  trigger: 'manual',
  error: null,
  nodeRuns: 1,
  attempt: 1,
  createdAt: '2025-01-01T00:00:00Z',
  startedAt: '2025-01-01T00:00:00Z',
  endedAt: '2025-01-01T00:00:01Z',
  durationMs: 1000
};

/** A Workscript server holding one workflow, `rec-1`, with one run. */
function workflowServer(
  overrides: Partial<Record<string, Handler>> = {}
): Handler {
  return request => {
    const key = `${request.method} ${request.path}`;
    const override = overrides[key];
    if (override) {
      return override(request);
    }
    switch (key) {
      case 'GET workflows/rec-1':
        return { status: 200, body: RECORD };
      case 'PUT workflows/rec-1':
      case 'PUT workflows/rec-new':
        return {
          status: 200,
          body: {
            ...RECORD,
            ...request.body,
            id: request.path.split('/')[1],
            definition: request.body.definition
          }
        };
      case 'POST workflows':
        return {
          status: 201,
          body: {
            ...RECORD,
            id: 'rec-new',
            name: request.body.definition.name,
            definition: request.body.definition
          }
        };
      case 'POST workflows/validate':
        return { status: 200, body: { valid: true, errors: [] } };
      case 'POST workflows/graph':
        return { status: 200, body: SVG, contentType: 'image/svg+xml' };
      case 'GET executions':
        return { status: 200, body: { items: [RUN], nextCursor: null } };
      case 'POST workflows/rec-1/run':
      case 'POST workflows/rec-new/run':
        return { status: 201, body: { ...RUN, id: 'run-2', status: 'queued' } };
    }
    return { status: 404, body: errorBody('NOT_FOUND', `no ${key}`) };
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise(resolve => setImmediate(resolve));
  }
}

function make(workflowId: string | null, handler: Handler = workflowServer()) {
  const { client, requests } = scriptedServer(handler);
  const socket = new WorkscriptSocket({
    settings: settingsWith(fakeFetch(() => ({ status: 500 })).fetch),
    WebSocket: FakeSocket,
    pingIntervalMs: 0
  });
  const saved: string[] = [];
  const session = new WorkflowSession({
    client,
    socket,
    trans,
    workflowId,
    templateSuffix: 'test',
    onSaved: record => saved.push(record.id)
  });
  const replaced: string[] = [];
  session.onTextReplaced(text => replaced.push(text));
  const sent = (r: IServerRequest) => `${r.method} ${r.path}`;
  return { session, socket, requests, replaced, sent, saved };
}

/** Type in the editor and let the live check run. */
async function type(session: WorkflowSession, text: string): Promise<void> {
  session.setText(text);
  vi.advanceTimersByTime(300);
  await settle();
}

beforeEach(() => {
  FakeSocket.instances = [];
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('a new workflow', () => {
  it('starts from the template, clean, with no history to read', async () => {
    const { session, requests, replaced } = make(null);
    await session.start();
    expect(session.state).toMatchObject({
      load: 'ready',
      workflowId: null,
      format: 'json',
      dirty: false
    });
    expect(JSON.parse(session.state.text).id).toBe('workflow-test');
    expect(replaced).toEqual([session.state.text]);
    vi.advanceTimersByTime(300);
    await settle();
    expect(requests.map(r => r.path)).toEqual([
      'workflows/validate',
      'workflows/graph'
    ]);
    expect(session.state.check.phase).toBe('valid');
  });

  it('is created on its first save, then watched and updated', async () => {
    const { session, socket, requests, sent, saved } = make(null);
    await session.start();
    const text = serialize({ ...DEFINITION, id: 'mine' }, 'json');
    await type(session, text);
    expect(session.state.dirty).toBe(true);
    expect(await session.save()).toBe(true);
    const create = requests.find(r => sent(r) === 'POST workflows')!;
    expect(create.body).toEqual({ definition: { ...DEFINITION, id: 'mine' } });
    expect(session.state).toMatchObject({
      workflowId: 'rec-new',
      dirty: false,
      notice: { kind: 'info' }
    });
    // its runs are read and watched
    await settle();
    const history = requests.find(r => sent(r) === 'GET executions')!;
    expect(history.query.get('workflowId')).toBe('rec-new');
    expect(history.query.get('limit')).toBe('20');
    expect(socket.channels.has('workflow:rec-new')).toBe(true);
    // the second save updates the same record
    await type(session, text.replace('"Daily"', '"Weekly"'));
    expect(await session.save()).toBe(true);
    expect(requests.filter(r => sent(r) === 'POST workflows')).toHaveLength(1);
    expect(
      requests.filter(r => sent(r) === 'PUT workflows/rec-new')
    ).toHaveLength(1);
    // the sidebar was told of both saves
    expect(saved).toEqual(['rec-new', 'rec-new']);
  });

  it('explains a 409 (the definition id is taken)', async () => {
    const { session, saved } = make(
      null,
      workflowServer({
        'POST workflows': () => ({
          status: 409,
          body: errorBody(
            'CONFLICT',
            "a workflow with id 'daily' exists: update rec-1 instead",
            { existingId: 'rec-1' }
          )
        })
      })
    );
    await session.start();
    expect(await session.save()).toBe(false);
    expect(saved).toEqual([]); // the sidebar is told only of a stored record
    expect(session.state.workflowId).toBeNull();
    expect(session.state.notice?.kind).toBe('error');
    expect(session.state.notice?.message).toContain(
      "a workflow with id 'daily' exists"
    );
    expect(session.state.notice?.message).toContain('Change the id');
    expect(session.state.busy).toBeNull();
  });
});

describe('a stored workflow', () => {
  it('is read, shown as JSON, and its runs listed', async () => {
    const { session, requests, replaced, socket } = make('rec-1');
    expect(session.state.load).toBe('loading');
    await session.start();
    await settle();
    expect(session.state).toMatchObject({
      load: 'ready',
      workflowId: 'rec-1',
      dirty: false,
      record: RECORD
    });
    expect(JSON.parse(replaced[0])).toEqual(DEFINITION);
    expect(session.state.history.items.map(r => r.id)).toEqual(['run-1']);
    expect(requests[0].path).toBe('workflows/rec-1');
    expect(socket.channels.has('workflow:rec-1')).toBe(true);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('goes on under its record id when opened by its definition id', async () => {
    const { session, requests } = make(
      'daily',
      workflowServer({
        'GET workflows/daily': () => ({ status: 200, body: RECORD })
      })
    );
    await session.start();
    await settle();
    expect(session.state.workflowId).toBe('rec-1');
    const history = requests.find(r => r.path === 'executions')!;
    expect(history.query.get('workflowId')).toBe('rec-1');
  });

  it('says when it does not exist, and can retry', async () => {
    let gone = true;
    const { session } = make(
      'rec-1',
      workflowServer({
        'GET workflows/rec-1': () =>
          gone
            ? { status: 404, body: errorBody('NOT_FOUND', 'no workflow rec-1') }
            : { status: 200, body: RECORD }
      })
    );
    await session.start();
    expect(session.state.load).toBe('failed');
    expect((session.state.loadError as any).status).toBe(404);
    gone = false;
    await session.reload();
    expect(session.state.load).toBe('ready');
  });

  it('is updated with the name, version and description of its definition', async () => {
    const { session, requests, sent } = make('rec-1');
    await session.start();
    const changed = { ...DEFINITION, name: 'Nightly', version: '1.1.0' };
    delete (changed as any).description;
    await type(session, serialize(changed, 'json'));
    expect(session.state.dirty).toBe(true);
    expect(await session.save()).toBe(true);
    const put = requests.find(r => sent(r) === 'PUT workflows/rec-1')!;
    expect(put.body).toEqual({
      definition: changed,
      name: 'Nightly',
      version: '1.1.0',
      description: ''
    });
    expect(session.state.dirty).toBe(false);
  });

  it('shows the issues of a refused save at their lines', async () => {
    const issue = {
      path: '/version',
      message: 'version must look like 1.0.0',
      code: 'SCHEMA_VALIDATION_ERROR'
    };
    const { session } = make(
      'rec-1',
      workflowServer({
        'PUT workflows/rec-1': () => ({
          status: 400,
          body: errorBody('WORKFLOW_VALIDATION_ERROR', 'invalid workflow', [
            issue
          ])
        })
      })
    );
    await session.start();
    const text = serialize({ ...DEFINITION, version: '1' }, 'json');
    session.setText(text);
    expect(await session.save()).toBe(false);
    expect(session.state.notice?.message).toBe(
      'Not saved: the workflow has 1 problem.'
    );
    expect(session.state.check.phase).toBe('invalid');
    expect(session.state.check.issues).toEqual([
      expect.objectContaining({ line: 4, path: '/version' })
    ]);
    expect(session.state.dirty).toBe(true);
  });

  it('does not send a text with a syntax error', async () => {
    const { session, requests } = make('rec-1');
    await session.start();
    await settle();
    const before = requests.length;
    session.setText('{\n  "id": "daily",\n  oops\n}');
    expect(await session.save()).toBe(false);
    expect(requests.length).toBe(before);
    expect(session.state.notice?.message).toMatch(/^Line 3: /);
  });

  it('says a deleted workflow cannot be saved', async () => {
    const { session } = make(
      'rec-1',
      workflowServer({
        'PUT workflows/rec-1': () => ({
          status: 404,
          body: errorBody('NOT_FOUND', 'no workflow rec-1')
        })
      })
    );
    await session.start();
    await type(session, serialize({ ...DEFINITION, name: 'X' }, 'json'));
    expect(await session.save()).toBe(false);
    expect(session.state.notice?.message).toContain('no longer exists');
  });

  it('is clean again when the text returns to the saved definition', async () => {
    const { session } = make('rec-1');
    await session.start();
    const saved = session.state.text;
    await type(session, saved.replace('"Daily"', '"Other"'));
    expect(session.state.dirty).toBe(true);
    // the same definition, written differently
    await type(session, JSON.stringify(DEFINITION));
    expect(session.state.dirty).toBe(false);
  });
});

describe('formats', () => {
  it('switches JSON and YAML without becoming dirty', async () => {
    const { session, replaced } = make('rec-1');
    await session.start();
    expect(session.setFormat('yaml')).toBe(true);
    expect(session.state.format).toBe('yaml');
    expect(replaced.at(-1)).toContain('name: Daily');
    expect(session.state.dirty).toBe(false);
    expect(session.setFormat('json')).toBe(true);
    expect(JSON.parse(replaced.at(-1)!)).toEqual(DEFINITION);
    expect(session.state.dirty).toBe(false);
  });

  it('refuses to switch a text with a syntax error', async () => {
    const { session, replaced } = make('rec-1');
    await session.start();
    session.setText('{"id": ');
    expect(session.setFormat('yaml')).toBe(false);
    expect(session.state.format).toBe('json');
    expect(session.state.notice?.message).toMatch(/^Fix line 1 /);
    expect(replaced).toHaveLength(1);
  });

  it('saves YAML as the same JSON definition', async () => {
    const { session, requests, sent } = make('rec-1');
    await session.start();
    session.setFormat('yaml');
    session.setText(session.state.text.replace('name: Daily', 'name: Hourly'));
    expect(await session.save()).toBe(true);
    const put = requests.find(r => sent(r) === 'PUT workflows/rec-1')!;
    expect(put.body.definition).toEqual({ ...DEFINITION, name: 'Hourly' });
  });
});

describe('running', () => {
  it('saves a changed workflow first, then starts the run', async () => {
    const { session, requests, sent } = make('rec-1');
    await session.start();
    await type(session, serialize({ ...DEFINITION, name: 'X' }, 'json'));
    const run = await session.run({ n: 5 });
    expect(run?.id).toBe('run-2');
    const order = requests
      .map(sent)
      .filter(k => !k.includes('validate') && !k.includes('graph'));
    expect(order.slice(-2)).toEqual([
      'PUT workflows/rec-1',
      'POST workflows/rec-1/run'
    ]);
    expect(requests.at(-1)!.body).toEqual({ initialState: { n: 5 } });
  });

  it('does not save a clean one', async () => {
    const { session, requests, sent } = make('rec-1');
    await session.start();
    await session.run({});
    expect(requests.map(sent)).not.toContain('PUT workflows/rec-1');
  });

  it('saves a new one first (its id is needed)', async () => {
    const { session, requests, sent } = make(null);
    await session.start();
    const run = await session.run({});
    expect(run).not.toBeNull();
    expect(requests.map(sent)).toContain('POST workflows');
    expect(requests.map(sent)).toContain('POST workflows/rec-new/run');
  });

  it('says why a run did not start', async () => {
    const { session } = make(
      'rec-1',
      workflowServer({
        'POST workflows/rec-1/run': () => ({
          status: 429,
          body: errorBody('TOO_MANY_RUNS', 'you have 10 runs queued or running')
        })
      })
    );
    await session.start();
    expect(await session.run({})).toBeNull();
    expect(session.state.notice?.message).toBe(
      'The run did not start: you have 10 runs queued or running'
    );
    expect(session.state.busy).toBeNull();
  });

  it('does not run when the save fails', async () => {
    const { session, requests, sent } = make(
      'rec-1',
      workflowServer({
        'PUT workflows/rec-1': () => new TypeError('Failed to fetch')
      })
    );
    await session.start();
    await type(session, serialize({ ...DEFINITION, name: 'X' }, 'json'));
    expect(await session.run({})).toBeNull();
    expect(requests.map(sent)).not.toContain('POST workflows/rec-1/run');
    expect(session.state.notice?.message).toBe(
      'Not saved: The Jupyter server cannot be reached.'
    );
  });
});

describe('the run history', () => {
  it("follows this workflow's run events, a burst costing one read", async () => {
    const { session, requests, sent } = make('rec-1');
    await session.start();
    await settle();
    const socket = FakeSocket.last();
    socket.open();
    expect(socket.sent).toContainEqual({
      type: 'subscribe',
      channel: 'workflow:rec-1'
    });
    const reads = () =>
      requests.filter(r => sent(r) === 'GET executions').length;
    expect(reads()).toBe(1);
    for (const type of ['workflow:started', 'workflow:completed']) {
      socket.receive({
        type,
        payload: { executionId: 'run-2', workflowId: 'rec-1' },
        timestamp: 1
      });
    }
    vi.advanceTimersByTime(250);
    await settle();
    expect(reads()).toBe(2);
    // another workflow's run, and node events, are not this history's
    socket.receive({
      type: 'workflow:started',
      payload: { executionId: 'run-9', workflowId: 'rec-2' },
      timestamp: 1
    });
    socket.receive({
      type: 'node:completed',
      payload: { executionId: 'run-2', workflowId: 'rec-1' },
      timestamp: 1
    });
    vi.advanceTimersByTime(1000);
    await settle();
    expect(reads()).toBe(2);
  });

  it('shows a history that cannot be read, and reads it again', async () => {
    let fail = true;
    const { session } = make(
      'rec-1',
      workflowServer({
        'GET executions': () =>
          fail
            ? {
                status: 503,
                body: errorBody('STORE_UNAVAILABLE', 'the store is down')
              }
            : { status: 200, body: { items: [RUN], nextCursor: null } }
      })
    );
    await session.start();
    await settle();
    expect((session.state.history.error as any)?.message).toBe(
      'the store is down'
    );
    fail = false;
    await session.refreshHistory();
    expect(session.state.history).toMatchObject({
      error: null,
      loading: false
    });
    expect(session.state.history.items).toHaveLength(1);
  });

  it('unsubscribes and stops listening when disposed', async () => {
    const { session, socket, requests } = make('rec-1');
    await session.start();
    await settle();
    FakeSocket.last().open();
    session.dispose();
    expect(socket.channels.has('workflow:rec-1')).toBe(false);
    expect(FakeSocket.last().sent).toContainEqual({
      type: 'unsubscribe',
      channel: 'workflow:rec-1'
    });
    const count = requests.length;
    FakeSocket.last().receive({
      type: 'workflow:completed',
      payload: { executionId: 'run-2', workflowId: 'rec-1' },
      timestamp: 1
    });
    vi.advanceTimersByTime(1000);
    await settle();
    expect(requests.length).toBe(count);
  });
});
