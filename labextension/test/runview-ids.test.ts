import { describe, expect, it } from 'vitest';
import { checkExecutionId, runViewId } from '../src/runview/ids';

describe('run view ids', () => {
  it('names the tab after the run', () => {
    expect(runViewId('0123456789abcdef0123456789abcdef')).toBe(
      'workscript-run-0123456789abcdef0123456789abcdef'
    );
  });

  it('refuses what cannot be a run id, saying what it got', () => {
    for (const bad of [
      undefined,
      null,
      42,
      '',
      ' e1',
      'e 1',
      'a/b',
      'x'.repeat(129)
    ]) {
      expect(() => checkExecutionId(bad)).toThrow(/needs a run id/);
    }
    expect(() => runViewId('')).toThrow('got ""');
    expect(checkExecutionId('e1')).toBe('e1');
    expect(checkExecutionId('x'.repeat(128))).toHaveLength(128);
  });
});
