import { describe, expect, it } from 'vitest';
import type { IGanttEntry } from '../src/runview/gantt';
import { applyNodeEvent } from '../src/runview/livetimeline';

const T = Date.parse('2026-03-01T10:00:00.000Z');
const ev = (
  type: string,
  payload: Record<string, unknown>,
  timestamp: number | null = T
) => ({
  type,
  payload: { executionId: 'e1', workflowId: 'w1', ...payload },
  timestamp
});

describe('applyNodeEvent', () => {
  it('opens a running entry on node:started and ends it on node:completed', () => {
    let entries: readonly IGanttEntry[] = [];
    entries = applyNodeEvent(
      entries,
      ev('node:started', { nodePath: 'workflow.0', nodeType: 'log' })
    );
    expect(entries).toEqual([
      {
        path: 'workflow.0',
        type: 'log',
        startedAt: new Date(T).toISOString(),
        running: true
      }
    ]);
    entries = applyNodeEvent(
      entries,
      ev(
        'node:completed',
        {
          nodePath: 'workflow.0',
          nodeType: 'log',
          edge: 'success',
          durationMs: 12.5
        },
        T + 13
      )
    );
    expect(entries).toEqual([
      {
        path: 'workflow.0',
        type: 'log',
        startedAt: new Date(T).toISOString(),
        running: false,
        durationMs: 12.5,
        edge: 'success',
        error: null
      }
    ]);
  });

  it('keeps the error of node:failed', () => {
    const entries = applyNodeEvent(
      [],
      ev('node:failed', {
        nodePath: 'workflow.1',
        nodeType: 'http',
        edge: 'error',
        durationMs: 5,
        error: 'timeout'
      })
    );
    expect(entries[0]).toMatchObject({ error: 'timeout', edge: 'error' });
  });

  it('rebuilds the start of a node whose node:started was coalesced away', () => {
    const entries = applyNodeEvent(
      [],
      ev(
        'node:completed',
        { nodePath: 'a', nodeType: 'log', durationMs: 40, edge: null },
        T + 100
      )
    );
    expect(entries[0]).toMatchObject({
      startedAt: new Date(T + 60).toISOString(),
      durationMs: 40
    });
    expect(entries[0].running).toBeUndefined();
  });

  it('closes a node still running when the next one starts (one node at a time)', () => {
    let entries = applyNodeEvent(
      [],
      ev('node:started', { nodePath: 'a', nodeType: 'log' }, T)
    );
    entries = applyNodeEvent(
      entries,
      ev('node:started', { nodePath: 'b', nodeType: 'log' }, T + 30)
    );
    expect(entries.map(e => [e.path, e.running, e.durationMs])).toEqual([
      ['a', false, 30],
      ['b', true, undefined]
    ]);
  });

  it('closes what runs when the workflow ends', () => {
    const entries = applyNodeEvent(
      [],
      ev('node:started', { nodePath: 'a', nodeType: 'log' }, T)
    );
    const ended = applyNodeEvent(
      entries,
      ev('workflow:failed', { status: 'failed' }, T + 8)
    );
    expect(ended[0]).toMatchObject({ running: false, durationMs: 8 });
  });

  it('ignores events that are not node events or have no node path', () => {
    const entries: IGanttEntry[] = [];
    expect(applyNodeEvent(entries, ev('subscribed', {}))).toBe(entries);
    expect(applyNodeEvent(entries, ev('node:started', {}))).toBe(entries);
    expect(
      applyNodeEvent(entries, ev('node:progress', { nodePath: 'a' }))
    ).toBe(entries);
    expect(applyNodeEvent(entries, ev('workflow:started', {}))).toBe(entries);
  });

  it('works without a timestamp', () => {
    const entries = applyNodeEvent(
      [],
      ev('node:started', { nodePath: 'a', nodeType: 'log' }, null)
    );
    expect(entries[0].startedAt).toBeUndefined();
    expect(entries[0].running).toBe(true);
  });

  it('keeps only the newest `limit` entries', () => {
    let entries: readonly IGanttEntry[] = [];
    for (let i = 0; i < 30; i++) {
      entries = applyNodeEvent(
        entries,
        ev(
          'node:completed',
          { nodePath: `n${i}`, nodeType: 'log', durationMs: 1 },
          T + i
        ),
        10
      );
    }
    expect(entries).toHaveLength(10);
    expect(entries[0].path).toBe('n20');
    expect(entries[9].path).toBe('n29');
  });
});
