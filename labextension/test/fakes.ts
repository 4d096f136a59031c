/**
 * Test doubles for the browser's fetch and WebSocket: they record what the client sends and
 * answer what a test scripts, so the clients are tested through Jupyter's real
 * `ServerConnection` code without a server.
 */
import { ServerConnection } from '@jupyterlab/services';

export interface IRecordedRequest {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

export type Answer = {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
};

/** A fetch that answers from `answer(request)` and keeps every request. */
export function fakeFetch(
  answer: (request: IRecordedRequest) => Answer | Error
) {
  const requests: IRecordedRequest[] = [];
  const fetch = async (input: Request): Promise<Response> => {
    const recorded: IRecordedRequest = {
      url: input.url,
      method: input.method,
      headers: input.headers,
      body: await input.text()
    };
    requests.push(recorded);
    const result = answer(recorded);
    if (result instanceof Error) {
      throw result;
    }
    const text =
      result.body === undefined
        ? ''
        : typeof result.body === 'string'
          ? result.body
          : JSON.stringify(result.body);
    return new Response(text || null, {
      status: result.status,
      headers: result.headers
    });
  };
  return { fetch, requests };
}

/** Server settings as Lab makes them, with a fake fetch. */
export function settingsWith(
  fetch: (input: Request) => Promise<Response>,
  extra: Partial<ServerConnection.ISettings> = {}
): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: 'http://lab.test/user/ana/',
    wsUrl: 'ws://lab.test/user/ana/',
    token: '',
    fetch: fetch as unknown as typeof globalThis.fetch,
    Request,
    Headers,
    ...extra
  });
}

/** A scripted WebSocket: tests open, close and feed it by hand. */
export class FakeSocket {
  static instances: FakeSocket[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readyState = FakeSocket.CONNECTING;
  sent: unknown[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  static last(): FakeSocket {
    return FakeSocket.instances[FakeSocket.instances.length - 1];
  }

  send(data: string): void {
    if (this.readyState !== FakeSocket.OPEN) {
      throw new Error('send on a socket that is not open');
    }
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === FakeSocket.CLOSED) {
      return;
    }
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason });
  }

  // what the server does
  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.({});
  }

  receive(message: unknown): void {
    this.onmessage?.({
      data: typeof message === 'string' ? message : JSON.stringify(message)
    });
  }

  drop(code = 1006): void {
    this.close(code, 'dropped');
  }
}
