import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  backoffDelay,
  IWorkscriptEvent,
  matches,
  socketUrl,
  WorkscriptSocket
} from '../src/socket';
import { FakeSocket, fakeFetch, settingsWith } from './fakes';

const settings = (extra = {}) =>
  settingsWith(fakeFetch(() => ({ status: 200 })).fetch, extra);

function makeSocket(extra = {}) {
  return new WorkscriptSocket({
    settings: settings(extra),
    WebSocket: FakeSocket,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2 },
    random: () => 0.999,
    pingIntervalMs: 0
  });
}

beforeEach(() => {
  FakeSocket.instances = [];
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('socketUrl', () => {
  it('joins wsUrl and workscript/ws, the token only when Jupyter appends it', () => {
    expect(socketUrl(settings({ token: 'a b', appendToken: false }))).toBe(
      'ws://lab.test/user/ana/workscript/ws'
    );
    expect(socketUrl(settings({ token: 'a b', appendToken: true }))).toBe(
      'ws://lab.test/user/ana/workscript/ws?token=a%20b'
    );
    expect(socketUrl(settings({ token: '', appendToken: true }))).toBe(
      'ws://lab.test/user/ana/workscript/ws'
    );
  });
});

describe('backoffDelay', () => {
  it('grows by the factor, is capped and never zero', () => {
    const backoff = { initialMs: 100, maxMs: 1000, factor: 2 };
    expect(
      [0, 1, 2, 3, 4, 10].map(a => backoffDelay(a, backoff, () => 0.999))
    ).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(0, backoff, () => 0)).toBe(50);
    expect(backoffDelay(20, backoff, () => 0)).toBe(500);
  });
});

describe('matches', () => {
  it('knows prefixes, exact types and *', () => {
    expect(matches('workflow:*', 'workflow:completed')).toBe(true);
    expect(matches('workflow:*', 'node:completed')).toBe(false);
    expect(matches('node:*', 'node:progress')).toBe(true);
    expect(matches('pong', 'pong')).toBe(true);
    expect(matches('pong', 'pongs')).toBe(false);
    expect(matches('*', 'anything')).toBe(true);
  });
});

describe('WorkscriptSocket', () => {
  it('subscribes the channels on open, and again after a reconnection', () => {
    const socket = makeSocket();
    socket.subscribe('executions'); // before connecting: kept, sent on open
    socket.connect();
    const first = FakeSocket.last();
    expect(first.url).toBe('ws://lab.test/user/ana/workscript/ws');
    first.open();
    socket.subscribe('execution:e1');
    socket.subscribe('execution:e1'); // once only
    expect(first.sent).toEqual([
      { type: 'subscribe', channel: 'executions' },
      { type: 'subscribe', channel: 'execution:e1' }
    ]);
    socket.unsubscribe('execution:e1'); // one holder left: still subscribed
    expect(first.sent).toHaveLength(2);
    socket.unsubscribe('execution:e1');
    expect(first.sent[2]).toEqual({
      type: 'unsubscribe',
      channel: 'execution:e1'
    });

    first.drop(1013);
    expect(socket.status).toBe('closed');
    vi.advanceTimersByTime(99);
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.instances).toHaveLength(2);
    const second = FakeSocket.last();
    second.open();
    expect(second.sent).toEqual([{ type: 'subscribe', channel: 'executions' }]);
    socket.dispose();
  });

  it('backs off longer after each failed attempt and resets once open', () => {
    const socket = makeSocket();
    socket.connect();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      FakeSocket.last().drop();
      const before = FakeSocket.instances.length;
      let waited = 0;
      while (FakeSocket.instances.length === before) {
        vi.advanceTimersByTime(10);
        waited += 10;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000]);
    FakeSocket.last().open();
    expect(socket.attempts).toBe(0);
    FakeSocket.last().drop();
    vi.advanceTimersByTime(100);
    expect(FakeSocket.instances).toHaveLength(7);
    socket.dispose();
  });

  it('dispatches events to the listeners whose pattern matches', () => {
    const socket = makeSocket();
    const workflow: IWorkscriptEvent[] = [];
    const node: string[] = [];
    const all: string[] = [];
    socket.onEvent(e => workflow.push(e), 'workflow:*');
    socket.onEvent(e => node.push(e.type), 'node:*');
    const remove = socket.onEvent(e => all.push(e.type));
    socket.onEvent(() => {
      throw new Error('a broken listener');
    });
    const error = vi
      .spyOn(console, 'error')
      .mockImplementation(() => undefined);
    socket.connect();
    const fake = FakeSocket.last();
    fake.open();
    fake.receive({
      type: 'workflow:started',
      payload: { executionId: 'e1', workflowId: 'w1' },
      timestamp: 1
    });
    fake.receive({
      type: 'node:completed',
      payload: { executionId: 'e1' },
      timestamp: 2
    });
    fake.receive('not json');
    fake.receive({ no: 'type' });
    remove();
    fake.receive({
      type: 'workflow:completed',
      payload: { executionId: 'e1' },
      timestamp: 3
    });
    expect(workflow.map(e => [e.type, e.payload.executionId])).toEqual([
      ['workflow:started', 'e1'],
      ['workflow:completed', 'e1']
    ]);
    expect(node).toEqual(['node:completed']);
    expect(all).toEqual(['workflow:started', 'node:completed']);
    expect(error).toHaveBeenCalledTimes(3);
    error.mockRestore();
    socket.dispose();
  });

  it('stops for good when disposed: no reconnection, no events', () => {
    const socket = makeSocket();
    const statuses: string[] = [];
    socket.onStatus(s => statuses.push(s));
    socket.connect();
    FakeSocket.last().open();
    socket.dispose();
    expect(statuses).toEqual(['connecting', 'open', 'disposed']);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
    socket.connect();
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('connects once however often connect() is called', () => {
    const socket = makeSocket();
    socket.connect();
    socket.connect();
    expect(FakeSocket.instances).toHaveLength(1);
    socket.dispose();
  });

  it('pings while open', () => {
    const socket = new WorkscriptSocket({
      settings: settings(),
      WebSocket: FakeSocket,
      pingIntervalMs: 1000
    });
    socket.connect();
    const fake = FakeSocket.last();
    fake.open();
    vi.advanceTimersByTime(2500);
    expect(fake.sent).toEqual([{ type: 'ping' }, { type: 'ping' }]);
    socket.dispose();
  });
});
