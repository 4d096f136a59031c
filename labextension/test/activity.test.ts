import { describe, expect, it } from 'vitest';
import type { IExecutionSummary } from '../src/api';
import { RunActivity } from '../src/activity';

const event = (type: string, payload: Record<string, unknown>) => ({
  type,
  payload,
  timestamp: 1_796_300_000_000
});

function summary(id: string, status: string): IExecutionSummary {
  return { id, status } as unknown as IExecutionSummary;
}

describe('RunActivity', () => {
  it('counts runs from their start to their end', () => {
    const activity = new RunActivity('u1');
    activity.apply(event('workflow:started', { executionId: 'a' }));
    activity.apply(event('node:started', { executionId: 'b' }));
    expect(activity.running).toBe(2);
    activity.apply(event('workflow:completed', { executionId: 'a' }));
    activity.apply(event('workflow:cancelled', { executionId: 'b' }));
    expect(activity.running).toBe(0);
  });

  it('a late node event of an ended run does not count it again', () => {
    const activity = new RunActivity('u1');
    activity.apply(event('workflow:completed', { executionId: 'a' }));
    activity.apply(event('node:completed', { executionId: 'a' }));
    expect(activity.running).toBe(0);
  });

  it('a list read before an end does not bring the ended run back', () => {
    const activity = new RunActivity('u1');
    activity.apply(event('workflow:started', { executionId: 'a' }));
    activity.apply(
      event('workflow:failed', { executionId: 'a', ownerId: 'u1' })
    );
    activity.reset([summary('a', 'running'), summary('b', 'queued')]);
    expect(activity.running).toBe(1);
  });

  it('reset counts only queued and running runs', () => {
    const activity = new RunActivity('u1');
    activity.reset([summary('a', 'running'), summary('c', 'completed')]);
    expect(activity.running).toBe(1);
  });

  it("tells of the user's own failure once, with its message and node", () => {
    const activity = new RunActivity('u1');
    const failed = event('workflow:failed', {
      executionId: 'a',
      workflowId: 'w',
      ownerId: 'u1',
      error: { message: 'boom', nodePath: 'workflow/0/fetch' }
    });
    expect(activity.apply(failed)).toEqual({
      executionId: 'a',
      workflowId: 'w',
      message: 'boom',
      nodePath: 'workflow/0/fetch'
    });
    expect(activity.apply(failed)).toBeNull();
  });

  it("does not tell an admin of another user's failure", () => {
    const activity = new RunActivity('admin');
    const failed = event('workflow:failed', {
      executionId: 'a',
      ownerId: 'u2'
    });
    expect(activity.apply(failed)).toBeNull();
  });

  it('completions and cancellations are not failures', () => {
    const activity = new RunActivity('u1');
    expect(
      activity.apply(
        event('workflow:completed', { executionId: 'a', ownerId: 'u1' })
      )
    ).toBeNull();
    expect(
      activity.apply(
        event('workflow:cancelled', { executionId: 'b', ownerId: 'u1' })
      )
    ).toBeNull();
  });
});
