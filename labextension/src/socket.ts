/**
 * The WebSocket client of the Workscript server extension (`/workscript/ws`).
 *
 * It connects with the same server settings as the REST client (`wsUrl`, and the token in the
 * URL exactly when Jupyter's own sockets put it there: `appendToken`), keeps the channels the
 * panel subscribed to and subscribes them again after every reconnection, reconnects with an
 * exponential backoff with jitter (so a restarted server is not hit by every tab at once), and
 * hands `workflow:*` / `node:*` events to the listeners whose pattern matches. Pure TypeScript:
 * the WebSocket constructor and the clock are injectable for the unit tests.
 */

import { URLExt } from '@jupyterlab/coreutils';
import type { ServerConnection } from '@jupyterlab/services';

/** A message from the server: a run event, or `subscribed`, `pong`, `error`... */
export interface IWorkscriptEvent {
  type: string;
  payload: {
    executionId?: string;
    workflowId?: string;
    [key: string]: unknown;
  };
  timestamp: number | null;
}

export type SocketStatus = 'connecting' | 'open' | 'closed' | 'disposed';

/** Delays between reconnection attempts: `initialMs * factor^attempt`, capped at `maxMs`. */
export interface IBackoff {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: IBackoff = {
  initialMs: 500,
  maxMs: 30_000,
  factor: 2
};

/** What a socket needs of the browser's WebSocket (the fake of the tests has the same). */
export interface ISocketLike {
  readyState: number;
  onopen: ((event: any) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onmessage: ((event: { data: any }) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = new (url: string) => ISocketLike;

export interface ISocketOptions {
  settings: ServerConnection.ISettings;
  /** Defaults to `settings.WebSocket`, the browser's. */
  WebSocket?: SocketFactory;
  backoff?: IBackoff;
  /** In [0, 1): the jitter; `Math.random` unless a test fixes it. */
  random?: () => number;
  /** A ping keeps proxies from closing an idle socket; 0 turns it off. */
  pingIntervalMs?: number;
}

const OPEN = 1;

/** `<wsUrl>workscript/ws`, with `?token=` when Jupyter's own sockets would carry it. */
export function socketUrl(settings: ServerConnection.ISettings): string {
  const url = URLExt.join(settings.wsUrl, 'workscript', 'ws');
  if (settings.appendToken && settings.token) {
    return `${url}?token=${encodeURIComponent(settings.token)}`;
  }
  return url;
}

/** The delay before reconnection attempt `attempt` (0-based): full exponential, half jitter. */
export function backoffDelay(
  attempt: number,
  backoff: IBackoff = DEFAULT_BACKOFF,
  random: () => number = Math.random
): number {
  const ceiling = Math.min(
    backoff.maxMs,
    backoff.initialMs * Math.pow(backoff.factor, attempt)
  );
  // half fixed, half random: never 0 (no busy loop), and tabs spread out
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** `workflow:*` matches every `workflow:` event, `*` every event, anything else itself. */
export function matches(pattern: string, type: string): boolean {
  if (pattern === '*') {
    return true;
  }
  if (pattern.endsWith(':*')) {
    return type.startsWith(pattern.slice(0, -1));
  }
  return pattern === type;
}

type Listener = (event: IWorkscriptEvent) => void;

/** One reconnecting WebSocket to `/workscript/ws`, shared by the panel's sections. */
export class WorkscriptSocket {
  constructor(options: ISocketOptions) {
    this._settings = options.settings;
    this._factory =
      options.WebSocket ??
      (options.settings.WebSocket as unknown as SocketFactory);
    this._backoff = options.backoff ?? DEFAULT_BACKOFF;
    this._random = options.random ?? Math.random;
    this._pingIntervalMs = options.pingIntervalMs ?? 30_000;
  }

  get url(): string {
    return socketUrl(this._settings);
  }

  get status(): SocketStatus {
    return this._status;
  }

  get channels(): ReadonlySet<string> {
    return this._channels;
  }

  /** The number of reconnection attempts since the socket was last open. */
  get attempts(): number {
    return this._attempt;
  }

  /** Open the socket (once; later calls do nothing while it is open or connecting). */
  connect(): void {
    if (this._status === 'disposed' || this._socket !== null) {
      return;
    }
    this._clearRetry();
    this._setStatus('connecting');
    const socket = new this._factory(this.url);
    this._socket = socket;
    socket.onopen = () => {
      if (this._socket !== socket) {
        return;
      }
      this._attempt = 0;
      this._setStatus('open');
      for (const channel of this._channels) {
        this._send({ type: 'subscribe', channel });
      }
      this._startPing();
    };
    socket.onmessage = message => this._receive(message.data);
    socket.onerror = () => {
      // an error is always followed by close, which decides what happens next
    };
    socket.onclose = () => {
      // dispose() lets go of its socket first: that close, or a stale one, changes nothing
      if (this._socket !== socket) {
        return;
      }
      this._socket = null;
      this._stopPing();
      this._setStatus('closed');
      this._scheduleReconnect();
    };
  }

  /** Receive a channel's events (`executions`, `execution:<id>`, `workflow:<id>`). Counted:
   * several parts (the Runs list, the status bar) may hold the same channel, and it is left
   * only when the last of them unsubscribes. */
  subscribe(channel: string): void {
    const holders = this._holders.get(channel) ?? 0;
    this._holders.set(channel, holders + 1);
    if (holders === 0) {
      this._channels.add(channel);
      this._send({ type: 'subscribe', channel });
    }
  }

  unsubscribe(channel: string): void {
    const holders = this._holders.get(channel) ?? 0;
    if (holders > 1) {
      this._holders.set(channel, holders - 1);
      return;
    }
    this._holders.delete(channel);
    if (!this._channels.delete(channel)) {
      return;
    }
    this._send({ type: 'unsubscribe', channel });
  }

  /** Call `listener` for each message whose type matches `pattern`; returns the remover. */
  onEvent(listener: Listener, pattern = '*'): () => void {
    const entry = { listener, pattern };
    this._listeners.add(entry);
    return () => {
      this._listeners.delete(entry);
    };
  }

  onStatus(listener: (status: SocketStatus) => void): () => void {
    this._statusListeners.add(listener);
    return () => {
      this._statusListeners.delete(listener);
    };
  }

  /** Close for good: no reconnection, no more events. */
  dispose(): void {
    if (this._status === 'disposed') {
      return;
    }
    this._setStatus('disposed');
    this._clearRetry();
    this._stopPing();
    const socket = this._socket;
    this._socket = null;
    socket?.close(1000, 'disposed');
    this._listeners.clear();
    this._statusListeners.clear();
  }

  private _send(message: Record<string, unknown>): void {
    // not open: the channel is kept and sent on open, so nothing is lost
    if (this._socket !== null && this._socket.readyState === OPEN) {
      this._socket.send(JSON.stringify(message));
    }
  }

  private _receive(data: unknown): void {
    let message: IWorkscriptEvent;
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (!message || typeof message.type !== 'string') {
      return;
    }
    message.payload = message.payload ?? {};
    for (const { listener, pattern } of [...this._listeners]) {
      if (!matches(pattern, message.type)) {
        continue;
      }
      try {
        listener(message);
      } catch (error) {
        // one broken listener must not starve the others or kill the socket
        console.error('a workscript event listener failed', error);
      }
    }
  }

  private _scheduleReconnect(): void {
    const delay = backoffDelay(this._attempt, this._backoff, this._random);
    this._attempt += 1;
    this._retry = setTimeout(() => {
      this._retry = null;
      this.connect();
    }, delay);
  }

  private _clearRetry(): void {
    if (this._retry !== null) {
      clearTimeout(this._retry);
      this._retry = null;
    }
  }

  private _startPing(): void {
    this._stopPing();
    if (this._pingIntervalMs > 0) {
      this._ping = setInterval(
        () => this._send({ type: 'ping' }),
        this._pingIntervalMs
      );
    }
  }

  private _stopPing(): void {
    if (this._ping !== null) {
      clearInterval(this._ping);
      this._ping = null;
    }
  }

  private _setStatus(status: SocketStatus): void {
    if (this._status === status) {
      return;
    }
    this._status = status;
    for (const listener of [...this._statusListeners]) {
      listener(status);
    }
  }

  private readonly _settings: ServerConnection.ISettings;
  private readonly _factory: SocketFactory;
  private readonly _backoff: IBackoff;
  private readonly _random: () => number;
  private readonly _pingIntervalMs: number;
  private _socket: ISocketLike | null = null;
  private _status: SocketStatus = 'closed';
  private _attempt = 0;
  private _retry: ReturnType<typeof setTimeout> | null = null;
  private _ping: ReturnType<typeof setInterval> | null = null;
  private readonly _channels = new Set<string>();
  private readonly _holders = new Map<string, number>();
  private readonly _listeners = new Set<{
    listener: Listener;
    pattern: string;
  }>();
  private readonly _statusListeners = new Set<(status: SocketStatus) => void>();
}
