import { describe, expect, it } from 'vitest';
import type { IExecutionSummary } from '../src/api';
import {
  activeCount,
  applyRunEvent,
  matchesFilter,
  summaryOf,
  upsertRun
} from '../src/runs';

function run(
  id: string,
  createdAt: string,
  extra: Partial<IExecutionSummary> = {}
) {
  return {
    id,
    workflowId: 'w1',
    automationId: null,
    ownerId: 'u1',
    status: 'queued',
    trigger: 'api',
    error: null,
    nodeRuns: 0,
    attempt: 1,
    createdAt,
    startedAt: null,
    endedAt: null,
    durationMs: null,
    ...extra
  } as IExecutionSummary;
}

const T = 1_796_300_000_000;
const event = (
  type: string,
  payload: Record<string, unknown>,
  timestamp = T
) => ({
  type,
  payload,
  timestamp
});

describe('applyRunEvent', () => {
  const runs = [
    run('e2', '2026-12-03T10:00:02Z'),
    run('e1', '2026-12-03T10:00:01Z')
  ];

  it('turns a known run running, then final, without a reload', () => {
    const started = applyRunEvent(
      runs,
      event('workflow:started', { executionId: 'e1' })
    );
    expect(started.fetch).toBeNull();
    expect(started.runs[1]).toMatchObject({
      status: 'running',
      startedAt: new Date(T).toISOString()
    });
    const done = applyRunEvent(
      started.runs,
      event(
        'workflow:completed',
        { executionId: 'e1', status: 'completed', durationMs: 12.5 },
        T + 13
      )
    );
    expect(done.runs[1]).toMatchObject({
      status: 'completed',
      durationMs: 12.5,
      endedAt: new Date(T + 13).toISOString()
    });
    // the end is read again: node count and final error come from the record
    expect(done.fetch).toBe('e1');
    expect(runs[1].status).toBe('queued'); // the input list is not changed
  });

  it('takes the precise status of a failed event (timed_out) and its error', () => {
    const failed = applyRunEvent(
      runs,
      event('workflow:failed', {
        executionId: 'e2',
        status: 'timed_out',
        error: { code: 'TIMEOUT', message: 'too slow' }
      })
    );
    expect(failed.runs[0]).toMatchObject({
      status: 'timed_out',
      error: { code: 'TIMEOUT', message: 'too slow' }
    });
    const odd = applyRunEvent(
      runs,
      event('workflow:failed', { executionId: 'e2', status: 'exploded' })
    );
    expect(odd.runs[0].status).toBe('failed');
  });

  it('asks to read a run it does not hold', () => {
    const update = applyRunEvent(
      runs,
      event('workflow:started', { executionId: 'e9' })
    );
    expect(update).toEqual({ runs, fetch: 'e9' });
  });

  it('marks a queued run running on a node event, and ignores other messages', () => {
    const node = applyRunEvent(
      runs,
      event('node:completed', { executionId: 'e2' })
    );
    expect(node.runs[0].status).toBe('running');
    expect(node.fetch).toBeNull();
    expect(applyRunEvent(runs, event('pong', {})).runs).toBe(runs);
    expect(
      applyRunEvent(runs, event('subscribed', { channel: 'executions' })).runs
    ).toBe(runs);
  });
});

describe('upsertRun', () => {
  it('inserts newest first, replaces by id, drops heavy fields and bounds the list', () => {
    let runs: IExecutionSummary[] = [];
    runs = upsertRun(runs, run('b', '2026-12-03T10:00:02Z'));
    runs = upsertRun(runs, run('a', '2026-12-03T10:00:01Z'));
    runs = upsertRun(runs, run('c', '2026-12-03T10:00:03Z'));
    expect(runs.map(r => r.id)).toEqual(['c', 'b', 'a']);
    const full = {
      ...run('b', '2026-12-03T10:00:02Z', { status: 'completed' }),
      initialState: {},
      finalState: { big: 1 },
      timeline: []
    };
    runs = upsertRun(runs, full);
    expect(runs.map(r => [r.id, r.status])).toEqual([
      ['c', 'queued'],
      ['b', 'completed'],
      ['a', 'queued']
    ]);
    expect('finalState' in runs[1]).toBe(false);
    expect(
      upsertRun(runs, run('d', '2026-12-03T10:00:04Z'), 2).map(r => r.id)
    ).toEqual(['d', 'c']);
    expect(activeCount(runs)).toBe(2);
    expect(summaryOf(full)).not.toHaveProperty('timeline');
  });
});

describe('matchesFilter', () => {
  const r = run('a', '2026-12-01T00:00:00Z', {
    status: 'failed',
    trigger: 'cron',
    workflowId: 'w9'
  });
  it('lets every run through without filters', () => {
    expect(matchesFilter(r, {})).toBe(true);
  });
  it('checks each filter given', () => {
    expect(matchesFilter(r, { status: 'failed', trigger: 'cron' })).toBe(true);
    expect(matchesFilter(r, { status: 'completed' })).toBe(false);
    expect(matchesFilter(r, { trigger: 'api' })).toBe(false);
    expect(matchesFilter(r, { workflowId: 'w1' })).toBe(false);
  });
});
