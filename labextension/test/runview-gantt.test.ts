import { describe, expect, it } from 'vitest';
import {
  axisTicks,
  formatMs,
  IGanttEntry,
  layoutGantt,
  tickStep
} from '../src/runview/gantt';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const entry = (
  path: string,
  startMs: number | null,
  durationMs: number,
  extra: Partial<IGanttEntry> = {}
): IGanttEntry => ({
  path,
  type: 'log',
  edge: 'success',
  startedAt: startMs === null ? undefined : at(startMs),
  durationMs,
  error: null,
  ...extra
});

describe('layoutGantt', () => {
  it('places each bar at its start offset, scaled to the run span', () => {
    const layout = layoutGantt([
      entry('a', 0, 100),
      entry('b', 100, 300),
      entry('c', 400, 600)
    ]);
    expect(layout.spanMs).toBe(1000);
    expect(layout.originMs).toBe(T0);
    expect(layout.bars.map(b => [b.left, b.width])).toEqual([
      [0, 0.1],
      [0.1, 0.3],
      [0.4, 0.6]
    ]);
    expect(layout.bars[1].label).toBe('b · log · 300 ms');
    expect(layout.hidden).toBe(0);
    expect(layout.total).toBe(3);
  });

  it('starts at the earliest entry, whatever the order, or at the run start when earlier', () => {
    const later = layoutGantt([entry('b', 500, 500), entry('a', 250, 250)]);
    expect(later.originMs).toBe(T0 + 250);
    expect(later.spanMs).toBe(750);
    expect(later.bars[1].left).toBe(0);
    const withRun = layoutGantt([entry('a', 500, 500)], {
      runStartedAt: at(0)
    });
    expect(withRun.originMs).toBe(T0);
    expect(withRun.bars[0].left).toBe(0.5);
    expect(withRun.bars[0].width).toBe(0.5);
  });

  it('gives zero-length nodes a minimum visible width, inside the chart', () => {
    const layout = layoutGantt(
      [entry('a', 0, 1000), entry('zero', 400, 0), entry('last', 1000, 0)],
      { minWidth: 0.01 }
    );
    expect(layout.bars[1].width).toBe(0.01);
    expect(layout.bars[1].left).toBe(0.4);
    // the zero-length node at the very end is pulled left so it does not overflow
    expect(layout.bars[2].width).toBe(0.01);
    expect(layout.bars[2].left + layout.bars[2].width).toBeCloseTo(1, 10);
    expect(layout.bars[1].label).toBe('zero · log · 0 ms');
  });

  it('survives a run whose nodes all took 0 ms (no division by zero)', () => {
    const layout = layoutGantt([entry('a', 0, 0), entry('b', 0, 0)]);
    expect(layout.spanMs).toBe(1);
    for (const bar of layout.bars) {
      expect(Number.isFinite(bar.left)).toBe(true);
      expect(bar.width).toBeGreaterThan(0);
    }
  });

  it('puts an entry without a (valid) start right after the previous one, marked estimated', () => {
    const layout = layoutGantt([
      entry('a', 0, 100),
      entry('b', null, 50),
      entry('c', null, 50, { startedAt: 'not a date' }),
      entry('d', 400, 100)
    ]);
    expect(layout.bars.map(b => [b.startMs, b.estimated])).toEqual([
      [0, false],
      [100, true],
      [150, true],
      [400, false]
    ]);
    expect(layout.spanMs).toBe(500);
  });

  it('lays out a timeline without any start sequentially from 0', () => {
    const layout = layoutGantt([entry('a', null, 10), entry('b', null, 30)]);
    expect(layout.originMs).toBeNull();
    expect(layout.bars.map(b => b.startMs)).toEqual([0, 10]);
    expect(layout.spanMs).toBe(40);
  });

  it('treats a missing, negative or non-finite duration as 0', () => {
    const layout = layoutGantt([
      entry('a', 0, 100),
      { path: 'b', type: 't', startedAt: at(10) },
      entry('c', 20, -5),
      entry('d', 30, Number.NaN)
    ]);
    expect(layout.bars.slice(1).map(b => b.durationMs)).toEqual([0, 0, 0]);
  });

  it('marks errored nodes failed and counts them, drawn or not', () => {
    const layout = layoutGantt(
      [
        entry('a', 0, 10),
        entry('b', 10, 10, { error: 'boom', edge: 'error' }),
        entry('c', 20, 10, { error: 'again' })
      ],
      { maxRows: 2 }
    );
    expect(layout.bars.map(b => b.failed)).toEqual([false, true]);
    expect(layout.bars[1].error).toBe('boom');
    expect(layout.failedCount).toBe(2);
  });

  it('caps thousands of entries to maxRows, the rest counted as hidden', () => {
    const many = Array.from({ length: 5000 }, (_, i) => entry(`n${i}`, i, 1));
    const layout = layoutGantt(many, { maxRows: 200 });
    expect(layout.bars).toHaveLength(200);
    expect(layout.bars[0].path).toBe('n0');
    expect(layout.bars[199].path).toBe('n199');
    expect(layout.hidden).toBe(4800);
    expect(layout.total).toBe(5000);
    // the span is the whole run's, not the drawn rows'
    expect(layout.spanMs).toBe(5000);
  });

  it('keeps the newest rows of a live timeline', () => {
    const many = Array.from({ length: 50 }, (_, i) => entry(`n${i}`, i, 1));
    const layout = layoutGantt(many, { maxRows: 10, keep: 'last' });
    expect(layout.bars.map(b => b.index)).toEqual([
      40, 41, 42, 43, 44, 45, 46, 47, 48, 49
    ]);
    expect(layout.hidden).toBe(40);
  });

  it('runs a running node until now', () => {
    const layout = layoutGantt(
      [entry('a', 0, 100), entry('b', 100, 0, { running: true })],
      { nowMs: T0 + 400, runningText: 'läuft' }
    );
    expect(layout.spanMs).toBe(400);
    expect(layout.bars[1].running).toBe(true);
    expect(layout.bars[1].width).toBe(0.75);
    expect(layout.bars[1].label).toBe('b · log · läuft');
  });

  it('takes no entries, and entries missing their path or type', () => {
    expect(layoutGantt([]).bars).toEqual([]);
    expect(layoutGantt([]).ticks[0]).toMatchObject({ ms: 0, at: 0 });
    const odd = layoutGantt([{ startedAt: at(0), durationMs: 5 } as any]);
    expect(odd.bars[0].label).toBe('? · ? · 5 ms');
  });
});

describe('the time axis', () => {
  it('steps by 1, 2 or 5 × 10^n', () => {
    expect(tickStep(1000, 5)).toBe(200);
    expect(tickStep(900, 5)).toBe(200);
    expect(tickStep(47_000, 5)).toBe(10_000);
    expect(tickStep(3, 5)).toBe(1);
  });

  it('has ticks from 0 within the span, placed as fractions', () => {
    const ticks = axisTicks(1000, 5);
    expect(ticks.map(t => t.ms)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(ticks.map(t => t.at)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks[1].label).toBe('200 ms');
    expect(axisTicks(47_000, 5).map(t => t.label)).toEqual([
      '0 ms',
      '10.0 s',
      '20.0 s',
      '30.0 s',
      '40.0 s'
    ]);
  });
});

describe('formatMs', () => {
  it('reads like a duration', () => {
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMs(0.25)).toBe('0.25 ms');
    expect(formatMs(12.4)).toBe('12 ms');
    expect(formatMs(1500)).toBe('1.5 s');
    expect(formatMs(125_000)).toBe('2 min 5 s');
    expect(formatMs(120_000)).toBe('2 min');
    expect(formatMs(3_840_000)).toBe('1 h 4 min');
    expect(formatMs(-1)).toBe('—');
    expect(formatMs(Number.NaN)).toBe('—');
  });
});
