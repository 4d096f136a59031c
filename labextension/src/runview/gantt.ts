/**
 * The layout of a run's node timeline as a Gantt chart, kept free of React and of the DOM so
 * that its arithmetic is unit tested: one row per node run, a bar from the node's start offset
 * to its end, both as fractions of the run's span, and a time axis with "nice" ticks.
 *
 * What the server sends is not always complete: an entry may lack `startedAt` (or carry one
 * that does not parse), a node may take 0 ms, a run may have thousands of node runs, and a
 * node still running (from the live events) has no duration yet. Each case has a rule here.
 */

import type { ITimelineEntry } from '../api';

/** A timeline entry as the chart takes it: the server's, or one built from live events. */
export interface IGanttEntry extends ITimelineEntry {
  /** Started and not ended yet (live): the bar runs to `nowMs`. */
  running?: boolean;
}

export interface IGanttBar {
  /** The entry's index in the input (its order of execution). */
  index: number;
  path: string;
  type: string;
  edge: string | null;
  error: string | null;
  failed: boolean;
  running: boolean;
  /** Milliseconds from the chart's origin to the node's start. */
  startMs: number;
  durationMs: number;
  /** The bar's left edge and width, as fractions of the chart's width (0..1). */
  left: number;
  width: number;
  /** The start was not known: the bar is placed right after the previous node run. */
  estimated: boolean;
  /** "path · type · 12 ms": the bar's title and accessible name. */
  label: string;
}

export interface IGanttTick {
  /** Milliseconds from the origin. */
  ms: number;
  /** Position as a fraction of the chart's width. */
  at: number;
  label: string;
}

export interface IGanttLayout {
  bars: IGanttBar[];
  ticks: IGanttTick[];
  /** The chart's span in milliseconds (at least 1). */
  spanMs: number;
  /** Epoch milliseconds of offset 0; null when no entry had a usable start. */
  originMs: number | null;
  /** Entries not drawn because of `maxRows` (after the drawn ones, or before with `keep: 'last'`). */
  hidden: number;
  /** Entries in all. */
  total: number;
  /** How many of them failed (drawn or not). */
  failedCount: number;
}

export interface IGanttOptions {
  /** Rows drawn at most; the rest are counted in `hidden`. */
  maxRows?: number;
  /** Which rows `maxRows` keeps: the first ones (a finished run), or the last (a live one). */
  keep?: 'first' | 'last';
  /** The narrowest bar, as a fraction of the width, so a 0 ms node stays visible. */
  minWidth?: number;
  /** Ticks wanted on the axis (about; the step is rounded to 1, 2 or 5 × 10^n). */
  tickCount?: number;
  /** The run's own start (ISO): the chart starts there when it is earlier than the nodes. */
  runStartedAt?: string | null;
  /** The end of a running node's bar (epoch ms); defaults to the last known end. */
  nowMs?: number;
  /** What a running node's label says in place of its duration (translated by the view). */
  runningText?: string;
}

export const DEFAULT_MAX_ROWS = 500;
export const DEFAULT_MIN_WIDTH = 0.004;

/** A duration in words a chart can show: "12 ms", "1.5 s", "2 min 5 s", "1 h 4 min". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    return '—';
  }
  if (ms < 1) {
    return ms === 0 ? '0 ms' : `${ms.toFixed(2)} ms`;
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  if (ms < 3_600_000) {
    const minutes = Math.floor(ms / 60_000);
    const seconds = Math.round((ms % 60_000) / 1000);
    return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
  }
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.round((ms % 3_600_000) / 60_000);
  return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
}

/** Epoch ms of an ISO time, or null when it is absent or does not parse. */
export function parseTime(iso: unknown): number | null {
  if (typeof iso !== 'string' || !iso) {
    return null;
  }
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

/** A usable duration: a finite number ≥ 0, else 0. */
function durationOf(entry: IGanttEntry): number {
  const d = entry.durationMs;
  return typeof d === 'number' && Number.isFinite(d) && d > 0 ? d : 0;
}

/** The step of an axis over `spanMs` with about `count` ticks: 1, 2 or 5 × 10^n ms. */
export function tickStep(spanMs: number, count: number): number {
  const raw = spanMs / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) {
    return 1;
  }
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * power >= raw) {
      return Math.max(1, factor * power);
    }
  }
  return Math.max(1, 10 * power);
}

/** The ticks of an axis from 0 to `spanMs`: 0 and each multiple of the step within the span. */
export function axisTicks(spanMs: number, count = 5): IGanttTick[] {
  const span = Math.max(1, spanMs);
  const step = tickStep(span, count);
  const ticks: IGanttTick[] = [];
  for (let ms = 0; ms <= span + 1e-9 && ticks.length <= count * 3; ms += step) {
    ticks.push({ ms, at: Math.min(1, ms / span), label: formatMs(ms) });
  }
  return ticks;
}

/** The label of one node run: "path · type · 12 ms" (running: "… · running"). */
export function barLabel(
  entry: Pick<IGanttEntry, 'path' | 'type'>,
  durationMs: number,
  running: string | null = null
): string {
  return `${entry.path} · ${entry.type} · ${running ?? formatMs(durationMs)}`;
}

/**
 * The Gantt layout of `entries` (in execution order). The origin is the earliest known start
 * (or the run's own start, when earlier); the span reaches the latest end. An entry without a
 * usable start is put right after the previous entry's end (at the origin when it is the first)
 * and marked `estimated`. Bars are at least `minWidth` wide and never cross the right edge.
 */
export function layoutGantt(
  entries: readonly IGanttEntry[],
  options: IGanttOptions = {}
): IGanttLayout {
  const maxRows = Math.max(0, Math.floor(options.maxRows ?? DEFAULT_MAX_ROWS));
  const minWidth = Math.min(
    1,
    Math.max(0, options.minWidth ?? DEFAULT_MIN_WIDTH)
  );
  const tickCount = Math.max(1, Math.floor(options.tickCount ?? 5));
  const list = Array.isArray(entries) ? entries : [];

  // the origin: the earliest known start
  let origin: number | null = parseTime(options.runStartedAt);
  for (const entry of list) {
    const start = parseTime(entry?.startedAt);
    if (start !== null && (origin === null || start < origin)) {
      origin = start;
    }
  }
  const base = origin ?? 0;

  // every entry's start and duration (offsets), the unknown ones placed after their predecessor
  const placed: { start: number; duration: number; estimated: boolean }[] = [];
  let previousEnd = 0;
  let latestKnownEnd = 0;
  for (const entry of list) {
    const start = parseTime(entry?.startedAt);
    const offset = start === null ? previousEnd : start - base;
    const duration = entry?.running ? 0 : durationOf(entry);
    placed.push({ start: offset, duration, estimated: start === null });
    previousEnd = offset + duration;
    latestKnownEnd = Math.max(latestKnownEnd, previousEnd);
  }
  // a running node lasts until now (or, without a clock, until the last known end)
  const now =
    typeof options.nowMs === 'number' && Number.isFinite(options.nowMs)
      ? options.nowMs - base
      : latestKnownEnd;
  let end = latestKnownEnd;
  list.forEach((entry, i) => {
    if (entry?.running) {
      placed[i].duration = Math.max(0, now - placed[i].start);
      end = Math.max(end, placed[i].start + placed[i].duration);
    }
  });
  const spanMs = Math.max(1, end);

  const firstDrawn =
    options.keep === 'last' ? Math.max(0, list.length - maxRows) : 0;
  const bars: IGanttBar[] = [];
  let failedCount = 0;
  list.forEach((entry, index) => {
    const error =
      typeof entry?.error === 'string' && entry.error ? entry.error : null;
    const failed = error !== null;
    if (failed) {
      failedCount += 1;
    }
    if (index < firstDrawn || index >= firstDrawn + maxRows) {
      return;
    }
    const { start, duration, estimated } = placed[index];
    const width = Math.min(1, Math.max(minWidth, duration / spanMs));
    const left = Math.min(Math.max(0, start / spanMs), 1 - width);
    const path = typeof entry?.path === 'string' ? entry.path : '?';
    const type = typeof entry?.type === 'string' ? entry.type : '?';
    const running = entry?.running === true;
    bars.push({
      index,
      path,
      type,
      edge: typeof entry?.edge === 'string' ? entry.edge : null,
      error,
      failed,
      running,
      startMs: start,
      durationMs: duration,
      left,
      width,
      estimated,
      label: barLabel(
        { path, type },
        duration,
        running ? (options.runningText ?? 'running') : null
      )
    });
  });

  return {
    bars,
    ticks: axisTicks(spanMs, tickCount),
    spanMs,
    originMs: origin,
    hidden: Math.max(0, list.length - maxRows),
    total: list.length,
    failedCount
  };
}
