/**
 * The data side of the run view, kept out of React so that it is tested with the real REST
 * and WebSocket clients: it reads the run, its timeline and its workflow's name, follows the
 * run live while it is queued or running, and carries out Cancel and Rerun.
 *
 * Live: the view subscribes `execution:<id>`. A `node:*` event updates the provisional
 * timeline at once (livetimeline.ts) and asks for the stored one again, at most once per
 * `throttleMs` (the server stores it when the run ends); a `workflow:*` event reads the run
 * and its timeline again at once. A slow poll (`pollMs`) reads them too while the run is not
 * final and no event came for that long, in case the socket is down; a socket that comes back
 * open after a drop triggers one read (events were missed). Once the run is final, the channel
 * is left and the poll stops. `dispose` ends everything; answers arriving later are dropped.
 */

import {
  FINAL_STATUSES,
  IExecution,
  ITimelineEntry,
  WorkscriptClient,
  WorkscriptError
} from '../api';
import type {
  IWorkscriptEvent,
  SocketStatus,
  WorkscriptSocket
} from '../socket';
import type { IGanttEntry } from './gantt';
import { applyNodeEvent } from './livetimeline';

export interface IRunViewState {
  run: IExecution | null;
  /** The first read (or a retry after it failed) is under way. */
  loading: boolean;
  /** Why the run could not be read at all (nothing to show). */
  loadError: unknown;
  /** Why the last re-read failed (the run shown is the last one read). */
  refreshError: unknown;
  /** The stored timeline (null until read). */
  timeline: ITimelineEntry[] | null;
  timelineError: unknown;
  /** The provisional timeline from the live events. */
  liveTimeline: readonly IGanttEntry[];
  workflowName: string | null;
  action: 'cancel' | 'rerun' | null;
  actionError: unknown;
  /** A rerun that started but whose tab could not be opened. */
  rerunId: string | null;
  socketStatus: SocketStatus;
}

export interface IRunModelOptions {
  client: WorkscriptClient;
  socket: WorkscriptSocket;
  executionId: string;
  /** Opens the run view of another run (the rerun's). */
  openRun: (id: string) => Promise<unknown> | unknown;
  /** Timeline reads caused by node events: at most one per this many ms. */
  throttleMs?: number;
  /** The fallback poll's period while the run is not final. */
  pollMs?: number;
  /** The clock (epoch ms); a test may fix it. */
  now?: () => number;
}

/** Whether a status is final (no more changes). */
export function isFinal(status: string | undefined | null): boolean {
  return (
    typeof status === 'string' &&
    FINAL_STATUSES.has(status as IExecution['status'])
  );
}

/** Whether an error says the run does not exist for this user (deleted, or not theirs). */
export function isNotFound(error: unknown): boolean {
  return error instanceof WorkscriptError && error.status === 404;
}

/** Whether an error says the server could not be reached or is unavailable. */
export function isServerDown(error: unknown): boolean {
  return (
    error instanceof WorkscriptError &&
    (error.status === 0 ||
      error.status === 502 ||
      error.status === 503 ||
      error.status === 504)
  );
}

/** The timeline to draw: the stored one once it has entries (or once the run is final and
 * nothing was seen live), else the live one. `live` says which. */
export function shownTimeline(state: IRunViewState): {
  entries: readonly IGanttEntry[];
  live: boolean;
} {
  const stored = state.timeline ?? [];
  if (stored.length > 0 || state.liveTimeline.length === 0) {
    return { entries: stored, live: false };
  }
  return { entries: state.liveTimeline, live: true };
}

export class RunModel {
  constructor(options: IRunModelOptions) {
    if (typeof options.executionId !== 'string' || !options.executionId) {
      throw new Error('RunModel: an execution id is needed');
    }
    this.executionId = options.executionId;
    this._client = options.client;
    this._socket = options.socket;
    this._openRun = options.openRun;
    this._throttleMs = options.throttleMs ?? 1000;
    this._pollMs = options.pollMs ?? 5000;
    this._now = options.now ?? Date.now;
    this._state = {
      run: null,
      loading: true,
      loadError: null,
      refreshError: null,
      timeline: null,
      timelineError: null,
      liveTimeline: [],
      workflowName: null,
      action: null,
      actionError: null,
      rerunId: null,
      socketStatus: options.socket.status
    };
  }

  readonly executionId: string;

  get state(): IRunViewState {
    return this._state;
  }

  get channel(): string {
    return `execution:${this.executionId}`;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Whether the run view follows the run live (subscribed, polling). */
  get following(): boolean {
    return this._following;
  }

  /** Call `listener` with the new state after each change; returns the remover. */
  onChange(listener: (state: IRunViewState) => void): () => void {
    this._listeners.add(listener);
    return () => {
      this._listeners.delete(listener);
    };
  }

  /** Read the run and start following it (once). */
  start(): Promise<void> {
    if (this._started || this._disposed) {
      return this._firstLoad ?? Promise.resolve();
    }
    this._started = true;
    this._removeEvents = this._socket.onEvent(event => this._onEvent(event));
    this._removeStatus = this._socket.onStatus(status => {
      const dropped = this._state.socketStatus !== 'open';
      this._set({ socketStatus: status });
      // back after a drop: what happened meanwhile was not heard
      if (
        status === 'open' &&
        dropped &&
        this._following &&
        this._lastRunRead > 0
      ) {
        void this.refresh();
      }
    });
    this._follow();
    this._socket.connect();
    this._firstLoad = this.load();
    return this._firstLoad;
  }

  /** The first read, or a retry of it: the run, its timeline, its workflow's name. */
  async load(): Promise<void> {
    this._set({ loading: true, loadError: null });
    const run = await this._readRun(true);
    if (run !== null) {
      await this._readTimeline();
    }
  }

  /** Read the run and its timeline again. */
  async refresh(): Promise<void> {
    await Promise.all([this._readRun(false), this._readTimeline()]);
  }

  async cancel(): Promise<void> {
    if (this._state.action !== null || this._disposed) {
      return;
    }
    this._set({ action: 'cancel', actionError: null, rerunId: null });
    try {
      const run = await this._client.cancelExecution(this.executionId);
      if (this._disposed) {
        return;
      }
      this._runRead(run);
      this._set({ action: null });
      void this._readTimeline();
    } catch (error) {
      this._set({ action: null, actionError: error });
    }
  }

  async rerun(): Promise<void> {
    if (this._state.action !== null || this._disposed) {
      return;
    }
    this._set({ action: 'rerun', actionError: null, rerunId: null });
    let next: IExecution;
    try {
      next = await this._client.rerunExecution(this.executionId);
    } catch (error) {
      this._set({ action: null, actionError: error });
      return;
    }
    try {
      await this._openRun(next.id);
      this._set({ action: null });
    } catch (error) {
      // the run exists: say so, with its id, rather than only that something failed
      this._set({ action: null, actionError: error, rerunId: next.id });
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._unfollow();
    if (this._timelineTimer !== null) {
      clearTimeout(this._timelineTimer);
      this._timelineTimer = null;
    }
    this._removeEvents?.();
    this._removeStatus?.();
    this._removeEvents = this._removeStatus = null;
    this._listeners.clear();
  }

  private _onEvent(event: IWorkscriptEvent): void {
    if (this._disposed || event.payload?.executionId !== this.executionId) {
      return;
    }
    const isNode = event.type.startsWith('node:');
    const isWorkflow = event.type.startsWith('workflow:');
    if (!isNode && !isWorkflow) {
      return;
    }
    this._lastEventAt = this._now();
    const live = applyNodeEvent(this._state.liveTimeline, event);
    const run = this._state.run;
    if (isNode) {
      const changes: Partial<IRunViewState> = {};
      if (live !== this._state.liveTimeline) {
        changes.liveTimeline = live;
      }
      if (run !== null && run.status === 'queued') {
        changes.run = { ...run, status: 'running' };
      }
      if (Object.keys(changes).length) {
        this._set(changes);
      }
      this._scheduleTimeline();
    } else {
      if (live !== this._state.liveTimeline) {
        this._set({ liveTimeline: live });
      }
      // the read below supersedes a throttled one (the server stores the end first, then
      // announces it, so this read finds the stored timeline)
      if (this._timelineTimer !== null) {
        clearTimeout(this._timelineTimer);
        this._timelineTimer = null;
      }
      void this.refresh();
    }
  }

  /** A timeline read soon: now if the last was `throttleMs` ago, else when it will be. */
  private _scheduleTimeline(): void {
    if (this._timelineTimer !== null || this._disposed) {
      return;
    }
    const wait = Math.max(
      0,
      this._lastTimelineAt + this._throttleMs - this._now()
    );
    this._timelineTimer = setTimeout(() => {
      this._timelineTimer = null;
      void this._readTimeline();
    }, wait);
  }

  private async _readRun(first: boolean): Promise<IExecution | null> {
    const mine = ++this._runSeq;
    try {
      const run = await this._client.getExecution(this.executionId);
      if (this._disposed || mine < this._runApplied) {
        return null;
      }
      this._runApplied = mine;
      this._runRead(run);
      this._set({ loading: false, loadError: null, refreshError: null });
      void this._readWorkflowName(run);
      return run;
    } catch (error) {
      if (this._disposed || mine < this._runApplied) {
        return null;
      }
      if (first || this._state.run === null) {
        this._set({ loading: false, loadError: error });
        if (isNotFound(error)) {
          // nothing will ever come: do not keep asking
          this._unfollow();
        }
      } else {
        this._set({ refreshError: error });
      }
      return null;
    }
  }

  /** A run record was read (or answered by cancel): show it, follow it or stop. */
  private _runRead(run: IExecution): void {
    this._lastRunRead = this._now();
    this._set({ run });
    if (isFinal(run.status)) {
      this._unfollow();
    }
  }

  private async _readTimeline(): Promise<void> {
    if (this._disposed) {
      return;
    }
    if (this._timelineInFlight) {
      // one read at a time; the one under way may predate the change: read once more after
      this._timelineAgain = true;
      return;
    }
    this._timelineInFlight = true;
    this._lastTimelineAt = this._now();
    try {
      const answer = await this._client.getTimeline(this.executionId);
      if (this._disposed) {
        return;
      }
      const timeline = Array.isArray(answer?.timeline) ? answer.timeline : [];
      this._set({ timeline, timelineError: null });
    } catch (error) {
      if (!this._disposed) {
        this._set({ timelineError: error });
      }
    } finally {
      this._timelineInFlight = false;
      if (this._timelineAgain && !this._disposed) {
        this._timelineAgain = false;
        if (this._following) {
          this._scheduleTimeline();
        } else {
          // the run has ended: its stored timeline is there now, read it without delay
          void this._readTimeline();
        }
      }
    }
  }

  private async _readWorkflowName(run: IExecution): Promise<void> {
    if (!run.workflowId || this._nameAsked) {
      return;
    }
    this._nameAsked = true;
    try {
      const workflow = await this._client.getWorkflow(run.workflowId);
      if (!this._disposed && typeof workflow?.name === 'string') {
        this._set({ workflowName: workflow.name });
      }
    } catch {
      // a deleted workflow (its runs stay): the view shows the id instead
    }
  }

  private _follow(): void {
    if (this._following || this._disposed) {
      return;
    }
    this._following = true;
    this._socket.subscribe(this.channel);
    this._poll = setInterval(() => {
      // events arrive while the socket works: the poll is only for when they do not
      if (
        this._now() - Math.max(this._lastEventAt, this._lastRunRead) >=
        this._pollMs
      ) {
        void this.refresh();
      }
    }, this._pollMs);
  }

  /** Stop the poll and leave the channel (a read already scheduled still happens). */
  private _unfollow(): void {
    if (this._poll !== null) {
      clearInterval(this._poll);
      this._poll = null;
    }
    if (this._following) {
      this._following = false;
      this._socket.unsubscribe(this.channel);
    }
  }

  private _set(changes: Partial<IRunViewState>): void {
    if (this._disposed) {
      return;
    }
    this._state = { ...this._state, ...changes };
    for (const listener of [...this._listeners]) {
      listener(this._state);
    }
  }

  private readonly _client: WorkscriptClient;
  private readonly _socket: WorkscriptSocket;
  private readonly _openRun: (id: string) => Promise<unknown> | unknown;
  private readonly _throttleMs: number;
  private readonly _pollMs: number;
  private readonly _now: () => number;
  private _state: IRunViewState;
  private readonly _listeners = new Set<(state: IRunViewState) => void>();
  private _started = false;
  private _nameAsked = false;
  private _disposed = false;
  private _following = false;
  private _firstLoad: Promise<void> | null = null;
  private _removeEvents: (() => void) | null = null;
  private _removeStatus: (() => void) | null = null;
  private _poll: ReturnType<typeof setInterval> | null = null;
  private _timelineTimer: ReturnType<typeof setTimeout> | null = null;
  private _timelineInFlight = false;
  private _timelineAgain = false;
  private _lastTimelineAt = -Infinity;
  private _lastEventAt = -Infinity;
  private _lastRunRead = 0;
  private _runSeq = 0;
  private _runApplied = 0;
}
