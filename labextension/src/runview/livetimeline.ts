/**
 * A provisional timeline of a running run, built from its `node:*` events.
 *
 * The server stores a run's timeline when the run ends, so while it runs
 * `GET /executions/{id}/timeline` answers an empty list; the run view draws this one instead
 * until the stored one arrives. It is approximate by nature: the server coalesces node events
 * (only the latest of each 50 ms window is sent), so fast nodes may be missing, and a node
 * whose `node:completed` was coalesced away is closed when the next node event arrives (a run
 * executes one node at a time). Pure: no React, no I/O.
 */

import type { IWorkscriptEvent } from '../socket';
import type { IGanttEntry } from './gantt';

/** Entries kept at most: the newest, so a long loop cannot grow the view without bound. */
export const LIVE_LIMIT = 5000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A running entry ended at `ms` (its duration from its start), or as it is without a clock. */
function closed(entry: IGanttEntry, ms: number | null): IGanttEntry {
  const start = entry.startedAt ? Date.parse(entry.startedAt) : NaN;
  const duration =
    ms !== null && Number.isFinite(start) ? Math.max(0, ms - start) : 0;
  return { ...entry, running: false, durationMs: duration };
}

/** Every running entry closed at `ms` (a later event shows they have ended). */
export function closeRunning(
  entries: readonly IGanttEntry[],
  ms: number | null
): IGanttEntry[] {
  return entries.some(e => e.running)
    ? entries.map(e => (e.running ? closed(e, ms) : e))
    : [...entries];
}

/**
 * The live timeline after one event of the run (other runs' events and non-node events change
 * nothing and return `entries` itself). `workflow:*` events close whatever still runs.
 */
export function applyNodeEvent(
  entries: readonly IGanttEntry[],
  event: IWorkscriptEvent,
  limit = LIVE_LIMIT
): readonly IGanttEntry[] {
  const ms =
    typeof event.timestamp === 'number' && Number.isFinite(event.timestamp)
      ? event.timestamp
      : null;
  if (event.type.startsWith('workflow:')) {
    if (event.type === 'workflow:started') {
      return entries;
    }
    return entries.some(e => e.running) ? closeRunning(entries, ms) : entries;
  }
  if (!event.type.startsWith('node:')) {
    return entries;
  }
  const payload = event.payload ?? {};
  const path = payload.nodePath;
  const type = payload.nodeType;
  if (typeof path !== 'string' || !path) {
    return entries;
  }
  const nodeType = typeof type === 'string' ? type : '?';
  let next: IGanttEntry[];

  if (event.type === 'node:started') {
    next = closeRunning(entries, ms);
    next.push({
      path,
      type: nodeType,
      startedAt: ms !== null ? iso(ms) : undefined,
      running: true
    });
  } else if (event.type === 'node:completed' || event.type === 'node:failed') {
    const duration =
      typeof payload.durationMs === 'number' &&
      Number.isFinite(payload.durationMs) &&
      payload.durationMs >= 0
        ? payload.durationMs
        : null;
    const error =
      typeof payload.error === 'string'
        ? payload.error
        : event.type === 'node:failed'
          ? 'failed'
          : null;
    const edge = typeof payload.edge === 'string' ? payload.edge : null;
    // the running entry of this node, if its start was seen
    let at = -1;
    for (let i = entries.length - 1; i >= 0; i--) {
      if (entries[i].running && entries[i].path === path) {
        at = i;
        break;
      }
    }
    if (at >= 0) {
      const own = entries[at];
      const ended: IGanttEntry = {
        ...(duration === null ? closed(own, ms) : own),
        running: false,
        edge,
        error
      };
      if (duration !== null) {
        ended.durationMs = duration;
      }
      next = closeRunning(
        entries.map((e, i) => (i === at ? ended : e)),
        ms
      );
    } else {
      // its start was coalesced away: it started `durationMs` before this event, and the
      // node running before it ended then
      const start = ms !== null && duration !== null ? ms - duration : null;
      next = closeRunning(entries, start ?? ms);
      next.push({
        path,
        type: nodeType,
        startedAt: start !== null ? iso(start) : undefined,
        durationMs: duration ?? 0,
        edge,
        error
      });
    }
  } else {
    // node:progress and the like: the node is running; nothing to draw differently
    return entries;
  }
  return next.length > limit ? next.slice(next.length - limit) : next;
}
