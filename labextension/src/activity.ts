/**
 * The runs going on, for the status bar, and the failures to tell the user about: a pure
 * model fed by the WebSocket's events and by a REST read of the active runs (at start and
 * every so often, since a socket that was down may have missed an end). Kept free of React
 * and Lab so that its counting and its "notify once, only for my runs" rules are unit tested.
 */

import type { IExecutionSummary } from './api';
import type { IWorkscriptEvent } from './socket';

/** A failed run to tell the user about. */
export interface IFailure {
  executionId: string;
  workflowId: string | null;
  message: string;
  nodePath: string | null;
}

const ENDS = new Set([
  'workflow:completed',
  'workflow:failed',
  'workflow:cancelled'
]);

export class RunActivity {
  /** `userId`: whose failures are notified (an admin's socket also carries others' runs);
   * null until known, and then every failure read is the user's own. */
  constructor(private userId: string | null = null) {}

  /** How many runs are queued or running. */
  get running(): number {
    return this._active.size;
  }

  setUser(userId: string | null): void {
    this.userId = userId;
  }

  /** The active runs as the server lists them now (replaces what events said). */
  reset(active: IExecutionSummary[]): void {
    this._active = new Set(
      active
        .filter(r => r.status === 'queued' || r.status === 'running')
        .map(r => r.id)
    );
    for (const id of this._ended) {
      // an end seen after the list was read wins over the stale list
      this._active.delete(id);
    }
  }

  /** The failure to notify, if this event is one; updates the count either way. */
  apply(event: IWorkscriptEvent): IFailure | null {
    const id = event.payload.executionId;
    if (typeof id !== 'string') {
      return null;
    }
    if (ENDS.has(event.type)) {
      this._active.delete(id);
      this._remember(id);
    } else if (
      (event.type === 'workflow:started' || event.type.startsWith('node:')) &&
      !this._ended.has(id)
    ) {
      this._active.add(id);
    }
    if (event.type !== 'workflow:failed' || this._notified.has(id)) {
      return null;
    }
    const owner = event.payload.ownerId;
    if (
      this.userId !== null &&
      typeof owner === 'string' &&
      owner !== this.userId
    ) {
      return null;
    }
    this._notified.add(id);
    const error = (event.payload.error ?? {}) as Record<string, unknown>;
    const workflowId = event.payload.workflowId;
    return {
      executionId: id,
      workflowId: typeof workflowId === 'string' ? workflowId : null,
      message:
        typeof error.message === 'string' && error.message
          ? error.message
          : 'the run failed',
      nodePath: typeof error.nodePath === 'string' ? error.nodePath : null
    };
  }

  private _remember(id: string): void {
    this._ended.add(id);
    if (this._ended.size > 2000) {
      // the oldest ends are forgotten: the set only bridges the list-read race
      const first = this._ended.values().next().value as string;
      this._ended.delete(first);
      this._notified.delete(first);
    }
  }

  private _active = new Set<string>();
  private _ended = new Set<string>();
  private _notified = new Set<string>();
}
