// The run view's model against the real REST and WebSocket clients: Jupyter's ServerConnection
// over a scripted fetch, and the WorkscriptSocket over a scripted WebSocket.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkscriptClient, WorkscriptError } from '../src/api';
import { WorkscriptSocket } from '../src/socket';
import {
  isNotFound,
  isServerDown,
  RunModel,
  shownTimeline
} from '../src/runview/model';
import { FakeSocket, settingsWith } from './fakes';
import {
  execution,
  server,
  settle,
  storedTimeline,
  T0
} from './runview-fixtures';

function setup(options: { open?: boolean } = {}) {
  const srv = server();
  const settings = settingsWith(srv.fetch);
  const client = new WorkscriptClient(settings);
  const socket = new WorkscriptSocket({
    settings,
    WebSocket: FakeSocket,
    pingIntervalMs: 0,
    random: () => 0
  });
  const opened: string[] = [];
  const model = new RunModel({
    client,
    socket,
    executionId: 'e1',
    openRun: id => {
      opened.push(id);
    },
    throttleMs: 1000,
    pollMs: 5000
  });
  const start = async () => {
    const done = model.start();
    if (options.open !== false) {
      FakeSocket.last().open();
    }
    await settle();
    await done;
  };
  return { srv, socket, model, opened, start };
}

const nodeEvent = (
  type: string,
  payload: Record<string, unknown>,
  ms = Date.now()
) => ({
  type,
  payload: { executionId: 'e1', workflowId: 'w1', ownerId: 'u1', ...payload },
  timestamp: ms
});

beforeEach(() => {
  FakeSocket.instances = [];
  vi.useFakeTimers({
    toFake: [
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'Date'
    ]
  });
  vi.setSystemTime(T0 + 10_000);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('RunModel', () => {
  it('refuses an empty id', () => {
    const { srv } = setup();
    const settings = settingsWith(srv.fetch);
    expect(
      () =>
        new RunModel({
          client: new WorkscriptClient(settings),
          socket: new WorkscriptSocket({ settings, WebSocket: FakeSocket }),
          executionId: '',
          openRun: () => undefined
        })
    ).toThrow(/execution id/);
  });

  it('reads the run, its timeline and its workflow name', async () => {
    const { srv, model, start } = setup();
    srv.state.run = execution('completed', { nodeRuns: 1, durationMs: 3 });
    srv.state.timeline = storedTimeline;
    const seen: string[] = [];
    model.onChange(s => seen.push(s.run?.status ?? 'none'));
    await start();
    expect(model.state.loading).toBe(false);
    expect(model.state.run?.status).toBe('completed');
    expect(model.state.timeline).toEqual(storedTimeline);
    expect(model.state.workflowName).toBe('Daily report');
    expect(seen.length).toBeGreaterThan(0);
    expect(shownTimeline(model.state)).toEqual({
      entries: storedTimeline,
      live: false
    });
  });

  it('does not follow a run that is already final, nor poll it', async () => {
    const { srv, socket, model, start } = setup();
    srv.state.run = execution('failed');
    await start();
    expect(socket.channels.has('execution:e1')).toBe(false);
    expect(FakeSocket.last().sent).toContainEqual({
      type: 'unsubscribe',
      channel: 'execution:e1'
    });
    expect(model.following).toBe(false);
    const before = srv.requests.length;
    await vi.advanceTimersByTimeAsync(30_000);
    await settle();
    expect(srv.requests.length).toBe(before);
  });

  it('follows a running run: subscribes its channel and draws node events at once', async () => {
    const { socket, model, start } = setup();
    await start();
    expect(socket.channels.has('execution:e1')).toBe(true);
    expect(FakeSocket.last().sent).toContainEqual({
      type: 'subscribe',
      channel: 'execution:e1'
    });
    FakeSocket.last().receive(
      nodeEvent('node:started', { nodePath: 'workflow.0', nodeType: 'log' })
    );
    expect(model.state.liveTimeline).toHaveLength(1);
    expect(model.state.liveTimeline[0].running).toBe(true);
    // the stored timeline is still empty while the run runs: the live one is shown
    expect(shownTimeline(model.state).live).toBe(true);
  });

  it('ignores the events of other runs', async () => {
    const { model, start } = setup();
    await start();
    FakeSocket.last().receive({
      ...nodeEvent('node:started', { nodePath: 'x', nodeType: 'log' }),
      payload: { executionId: 'other', nodePath: 'x', nodeType: 'log' }
    });
    expect(model.state.liveTimeline).toHaveLength(0);
  });

  it('re-reads the timeline on node events at most once a second, coalesced', async () => {
    const { srv, start } = setup();
    await start();
    expect(srv.count('GET executions/e1/timeline')).toBe(1);
    // a burst of node events right after the first read: one read, a second later
    for (let i = 0; i < 20; i++) {
      FakeSocket.last().receive(
        nodeEvent('node:completed', {
          nodePath: `n${i}`,
          nodeType: 'log',
          durationMs: 1
        })
      );
      await vi.advanceTimersByTimeAsync(20);
    }
    await settle();
    expect(srv.count('GET executions/e1/timeline')).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(srv.count('GET executions/e1/timeline')).toBe(2);
    // quiet: no more reads
    await vi.advanceTimersByTimeAsync(3000);
    await settle();
    expect(srv.count('GET executions/e1/timeline')).toBe(2);
  });

  it('turns a queued run running on its first node event', async () => {
    const { srv, model, start } = setup();
    srv.state.run = execution('queued', { startedAt: null });
    await start();
    FakeSocket.last().receive(
      nodeEvent('node:started', { nodePath: 'a', nodeType: 'log' })
    );
    expect(model.state.run?.status).toBe('running');
  });

  it('re-reads the run and its timeline on a workflow event, then stops following', async () => {
    const { srv, socket, model, start } = setup();
    await start();
    FakeSocket.last().receive(
      nodeEvent('node:started', { nodePath: 'a', nodeType: 'log' })
    );
    srv.state.run = execution('completed', {
      nodeRuns: 1,
      finalState: { x: 1 }
    });
    srv.state.timeline = storedTimeline;
    const runs = srv.count('GET executions/e1');
    FakeSocket.last().receive(
      nodeEvent('workflow:completed', { status: 'completed' })
    );
    await settle();
    expect(srv.count('GET executions/e1')).toBe(runs + 1);
    expect(model.state.run?.status).toBe('completed');
    expect(model.state.timeline).toEqual(storedTimeline);
    expect(shownTimeline(model.state)).toEqual({
      entries: storedTimeline,
      live: false
    });
    expect(model.state.liveTimeline[0].running).toBe(false);
    expect(socket.channels.has('execution:e1')).toBe(false);
    const before = srv.requests.length;
    await vi.advanceTimersByTimeAsync(20_000);
    await settle();
    expect(srv.requests.length).toBe(before);
  });

  it('polls every 5 s while no event comes (socket down), not while events flow', async () => {
    const { srv, start } = setup({ open: false });
    await start();
    const runs = () => srv.count('GET executions/e1');
    expect(runs()).toBe(1);
    await vi.advanceTimersByTimeAsync(5000);
    await settle();
    expect(runs()).toBe(2);
    await vi.advanceTimersByTimeAsync(5000);
    await settle();
    expect(runs()).toBe(3);
    // the socket opens and events flow: the poll has nothing to do
    FakeSocket.last().open();
    await settle();
    const afterReconnect = runs();
    for (let i = 0; i < 10; i++) {
      FakeSocket.last().receive(
        nodeEvent('node:completed', {
          nodePath: `n${i}`,
          nodeType: 'log',
          durationMs: 1
        })
      );
      await vi.advanceTimersByTimeAsync(1000);
    }
    await settle();
    expect(runs()).toBe(afterReconnect);
  });

  it('reads the run again when the socket comes back after a drop', async () => {
    const { srv, start } = setup();
    await start();
    const runs = srv.count('GET executions/e1');
    FakeSocket.last().drop();
    await vi.advanceTimersByTimeAsync(300); // the reconnection delay (random 0: half of 500)
    FakeSocket.last().open();
    await settle();
    expect(srv.count('GET executions/e1')).toBe(runs + 1);
  });

  it('says a missing run is not found, and stops asking', async () => {
    const { srv, socket, model, start } = setup();
    srv.state.answers['GET executions/e1'] = {
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'execution e1 not found' } }
    };
    await start();
    expect(model.state.run).toBeNull();
    expect(isNotFound(model.state.loadError)).toBe(true);
    expect(socket.channels.has('execution:e1')).toBe(false);
    const before = srv.requests.length;
    await vi.advanceTimersByTimeAsync(20_000);
    await settle();
    expect(srv.requests.length).toBe(before);
  });

  it('reports a server that is down, retries by itself and on demand', async () => {
    const { srv, model, start } = setup();
    srv.state.down = true;
    await start();
    expect(model.state.run).toBeNull();
    expect(isServerDown(model.state.loadError)).toBe(true);
    expect((model.state.loadError as WorkscriptError).status).toBe(0);
    // the retry button
    await model.load();
    expect(isServerDown(model.state.loadError)).toBe(true);
    // the server is back: the poll finds the run
    srv.state.down = false;
    await vi.advanceTimersByTimeAsync(5000);
    await settle();
    expect(model.state.loadError).toBeNull();
    expect(model.state.run?.status).toBe('running');
    expect(model.state.workflowName).toBe('Daily report');
  });

  it('keeps the run shown when a later read fails, and says so', async () => {
    const { srv, model, start } = setup();
    await start();
    srv.state.answers['GET executions/e1'] = {
      status: 503,
      body: {
        error: { code: 'STORE_UNAVAILABLE', message: 'the store is down' }
      }
    };
    await model.refresh();
    expect(model.state.run?.status).toBe('running');
    expect((model.state.refreshError as WorkscriptError).code).toBe(
      'STORE_UNAVAILABLE'
    );
    delete srv.state.answers['GET executions/e1'];
    await model.refresh();
    expect(model.state.refreshError).toBeNull();
  });

  it('cancels: the answer is shown and following stops', async () => {
    const { srv, socket, model, start } = setup();
    await start();
    await model.cancel();
    await settle();
    expect(srv.count('POST executions/e1/cancel')).toBe(1);
    expect(model.state.run?.status).toBe('cancelled');
    expect(model.state.action).toBeNull();
    expect(socket.channels.has('execution:e1')).toBe(false);
  });

  it('shows why a cancel was refused, the run unchanged', async () => {
    const { srv, model, start } = setup();
    await start();
    srv.state.answers['POST executions/e1/cancel'] = {
      status: 422,
      body: { error: { code: 'NOT_CANCELLABLE', message: 'the run has ended' } }
    };
    await model.cancel();
    expect(model.state.run?.status).toBe('running');
    expect((model.state.actionError as WorkscriptError).message).toBe(
      'the run has ended'
    );
    expect(model.state.action).toBeNull();
  });

  it('reruns and opens the new run; says so when its tab cannot be opened', async () => {
    const { srv, model, opened, start } = setup();
    await start();
    await model.rerun();
    expect(srv.count('POST executions/e1/rerun')).toBe(1);
    expect(opened).toEqual(['e2']);
    expect(model.state.actionError).toBeNull();

    const failing = new RunModel({
      client: (model as any)._client,
      socket: (model as any)._socket,
      executionId: 'e1',
      openRun: () => Promise.reject(new Error('no such command'))
    });
    await failing.rerun();
    expect(failing.state.rerunId).toBe('e2');
    expect((failing.state.actionError as Error).message).toBe(
      'no such command'
    );
    failing.dispose();
  });

  it('shows why a rerun was refused', async () => {
    const { srv, model, opened, start } = setup();
    await start();
    srv.state.answers['POST executions/e1/rerun'] = {
      status: 403,
      body: {
        error: { code: 'FORBIDDEN', message: 'execution:rerun is not granted' }
      }
    };
    await model.rerun();
    expect(opened).toEqual([]);
    expect((model.state.actionError as WorkscriptError).status).toBe(403);
    expect(model.state.rerunId).toBeNull();
  });

  it('is inert once disposed: an answer arriving later changes nothing', async () => {
    const { srv, model, start } = setup();
    await start();
    srv.state.answers['POST executions/e1/cancel'] = {
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'late' } }
    };
    const cancelling = model.cancel();
    expect(model.state.action).toBe('cancel');
    const before = model.state;
    model.dispose();
    await cancelling;
    await settle();
    expect(model.state).toBe(before);
  });

  it('ends everything on dispose: channel, poll, timers, late answers', async () => {
    const { srv, socket, model, start } = setup();
    await start();
    const listener = vi.fn();
    model.onChange(listener);
    FakeSocket.last().receive(
      nodeEvent('node:started', { nodePath: 'a', nodeType: 'log' })
    );
    listener.mockClear();
    model.dispose();
    expect(socket.channels.has('execution:e1')).toBe(false);
    const before = srv.requests.length;
    FakeSocket.last().receive(nodeEvent('workflow:completed', {}));
    await vi.advanceTimersByTimeAsync(20_000);
    await settle();
    expect(srv.requests.length).toBe(before);
    expect(listener).not.toHaveBeenCalled();
    expect(model.isDisposed).toBe(true);
  });
});
