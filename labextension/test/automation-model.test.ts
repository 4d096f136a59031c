import { describe, expect, it } from 'vitest';
import { nullTranslator } from '@jupyterlab/translation';
import {
  appendPage,
  browserZone,
  changesOf,
  cronErrorText,
  cronFieldName,
  errorsOfDetails,
  formatRunTime,
  formOf,
  inputOf,
  mergeFirstPage,
  newForm,
  parseParameters,
  timeZones,
  webhookUrl
} from '../src/automations/model';
import { automation } from './automation-fixtures';

const trans = nullTranslator.load('workscript_jupyter');

describe('newForm', () => {
  it('starts a workflow automation on the default cron in the given zone', () => {
    const form = newForm(undefined, 'Asia/Tokyo');
    expect(form).toMatchObject({
      name: '',
      target: 'workflow',
      workflowId: '',
      triggerType: 'cron',
      cron: '0 9 * * *',
      timezone: 'Asia/Tokyo',
      enabled: true,
      misfirePolicy: 'run_once',
      overlapPolicy: 'skip',
      retryCount: '0',
      timeoutSeconds: ''
    });
  });

  it('is prefilled for a notebook with its parameters and named after it', () => {
    const form = newForm(
      { notebookPath: 'reports/daily.ipynb', parameters: { alpha: 0.5 } },
      'UTC'
    );
    expect(form.target).toBe('notebook');
    expect(form.name).toBe('daily');
    expect(form.notebookPath).toBe('reports/daily.ipynb');
    expect(JSON.parse(form.parameters)).toEqual({ alpha: 0.5 });
  });

  it('is prefilled with a workflow', () => {
    const form = newForm({ workflowId: 'w9' }, 'UTC');
    expect(form.target).toBe('workflow');
    expect(form.workflowId).toBe('w9');
  });
});

describe('inputOf', () => {
  it('makes the whole body of a workflow automation on cron', () => {
    const form = { ...newForm({ workflowId: 'w1' }, 'UTC'), name: 'N' };
    const { input, errors } = inputOf(form, trans);
    expect(errors).toEqual({});
    expect(input).toEqual({
      name: 'N',
      workflowId: 'w1',
      triggerType: 'cron',
      cron: '0 9 * * *',
      timezone: 'UTC',
      enabled: true,
      misfirePolicy: 'run_once',
      misfireGraceSeconds: 3600,
      overlapPolicy: 'skip',
      retries: { count: 0, delaySeconds: 60, backoff: 2 },
      timeoutSeconds: null
    });
  });

  it('sends a notebook with its parameters and no cron for a webhook', () => {
    const form = {
      ...newForm({ notebookPath: 'a.ipynb', parameters: { x: 1 } }, 'UTC'),
      triggerType: 'webhook' as const,
      timeoutSeconds: ' 30.5 '
    };
    const { input, errors } = inputOf(form, trans);
    expect(errors).toEqual({});
    expect(input.notebookPath).toBe('a.ipynb');
    expect(input.parameters).toEqual({ x: 1 });
    expect(input.workflowId).toBeUndefined();
    expect(input.cron).toBeUndefined();
    expect(input.timezone).toBeUndefined();
    expect(input.timeoutSeconds).toBe(30.5);
  });

  it('names each field it cannot make a value of', () => {
    const form = {
      ...newForm({ notebookPath: 'a.ipynb' }, 'UTC'),
      notebookPath: '  ',
      parameters: '[1, 2]',
      misfireGraceSeconds: 'soon',
      retryCount: '',
      timeoutSeconds: 'x'
    };
    const { input, errors } = inputOf(form, trans);
    expect(Object.keys(errors).sort()).toEqual([
      'misfireGraceSeconds',
      'notebookPath',
      'parameters',
      'retryCount',
      'timeoutSeconds'
    ]);
    expect(errors.parameters).toMatch(/JSON object/);
    expect(input.retries).toBeUndefined();
    expect(input.misfireGraceSeconds).toBeUndefined();
  });

  it('asks for a workflow when none is chosen', () => {
    const { errors } = inputOf(newForm(undefined, 'UTC'), trans);
    expect(errors.workflowId).toMatch(/workflow/);
  });
});

describe('parseParameters', () => {
  it('accepts an object or nothing, refuses the rest with the reason', () => {
    expect(parseParameters('{"a": [1]}', trans)).toEqual({ a: [1] });
    expect(parseParameters('  ', trans)).toEqual({});
    expect(parseParameters('{"a": ', trans)).toMatch(/^Not valid JSON/);
    expect(parseParameters('null', trans)).toMatch(/JSON object/);
    expect(parseParameters('"text"', trans)).toMatch(/JSON object/);
  });
});

describe('changesOf', () => {
  it('is empty for the form of the automation itself', () => {
    const stored = automation({ retries: undefined });
    const { input } = inputOf(formOf(stored), trans);
    expect(changesOf(stored, input)).toEqual({});
    const notebook = automation({
      workflowId: null,
      notebookPath: 'n.ipynb',
      parameters: { b: 1, a: { y: 2, x: 1 } },
      timeoutSeconds: 12.5
    });
    expect(changesOf(notebook, inputOf(formOf(notebook), trans).input)).toEqual(
      {}
    );
    // the same object typed in another key order is no change
    const reordered = {
      ...formOf(notebook),
      parameters: '{"a": {"x": 1, "y": 2}, "b": 1}'
    };
    expect(changesOf(notebook, inputOf(reordered, trans).input)).toEqual({});
  });

  it('sends only what changed, never enabled', () => {
    const stored = automation();
    const form = {
      ...formOf(stored),
      cron: '*/5 * * * *',
      retryCount: '3',
      enabled: false
    };
    expect(changesOf(stored, inputOf(form, trans).input)).toEqual({
      cron: '*/5 * * * *',
      retries: { count: 3, delaySeconds: 60, backoff: 2 }
    });
  });

  it('sends a new notebook target with its parameters', () => {
    const stored = automation();
    const form = {
      ...formOf(stored),
      target: 'notebook' as const,
      notebookPath: 'n.ipynb'
    };
    expect(changesOf(stored, inputOf(form, trans).input)).toEqual({
      notebookPath: 'n.ipynb',
      parameters: {}
    });
  });

  it('sends the trigger type and a timeout removed', () => {
    const stored = automation({ timeoutSeconds: 60 });
    const form = {
      ...formOf(stored),
      triggerType: 'webhook' as const,
      timeoutSeconds: ''
    };
    expect(changesOf(stored, inputOf(form, trans).input)).toEqual({
      triggerType: 'webhook',
      timeoutSeconds: null
    });
  });
});

describe('errorsOfDetails', () => {
  it('puts each server field on its form field', () => {
    const { fields, other } = errorsOfDetails([
      { field: 'name', message: 'must be a non-empty string' },
      { field: 'cron', message: 'bad minute' },
      { field: 'retries.count', message: 'from 0 to 10' },
      { field: 'retryBackoff', message: 'from 1 to 10' },
      { field: 'retries.delaySeconds', message: 'from 0 to 86400' },
      { field: 'timezone', message: 'unknown zone' },
      { field: 'bogus', message: 'is not a field of an automation' },
      { field: '', message: 'an object' },
      { field: 'cron', message: 'second problem' },
      { field: 'x' },
      'junk'
    ]);
    expect(fields).toEqual({
      name: 'must be a non-empty string',
      cron: 'bad minute; second problem',
      retryCount: 'from 0 to 10',
      retryBackoff: 'from 1 to 10',
      retryDelaySeconds: 'from 0 to 86400',
      timezone: 'unknown zone'
    });
    expect(other).toEqual([
      'bogus: is not a field of an automation',
      'an object'
    ]);
  });

  it('says "no target" beside the notebook path of a notebook form', () => {
    const details = [{ field: 'workflowId', message: 'needs a target' }];
    expect(errorsOfDetails(details, 'notebook').fields).toEqual({
      notebookPath: 'needs a target'
    });
    expect(errorsOfDetails(details, 'workflow').fields).toEqual({
      workflowId: 'needs a target'
    });
  });

  it('takes one detail object, and nothing from null', () => {
    expect(
      errorsOfDetails({ field: 'enabled', message: 'a boolean' }).fields
    ).toEqual({ enabled: 'a boolean' });
    expect(errorsOfDetails(null)).toEqual({ fields: {}, other: [] });
  });
});

describe('webhookUrl', () => {
  const path = '/workscript/hooks/tok_123';
  it('puts the path under an absolute base URL', () => {
    expect(webhookUrl('http://other', 'http://lab.test/user/ana/', path)).toBe(
      'http://lab.test/user/ana/workscript/hooks/tok_123'
    );
  });

  it('puts a relative base URL under the page origin', () => {
    expect(webhookUrl('https://hub.example', '/user/ana/', path)).toBe(
      'https://hub.example/user/ana/workscript/hooks/tok_123'
    );
    expect(webhookUrl('http://localhost:8888', '/', path)).toBe(
      'http://localhost:8888/workscript/hooks/tok_123'
    );
  });

  it('does not repeat a base path the webhook path already has', () => {
    expect(
      webhookUrl(
        'http://x',
        'http://lab.test/user/ana/',
        '/user/ana/workscript/hooks/t'
      )
    ).toBe('http://lab.test/user/ana/workscript/hooks/t');
    expect(webhookUrl('http://x', '/', 'https://elsewhere/hooks/t')).toBe(
      'https://elsewhere/hooks/t'
    );
  });
});

describe('formatRunTime', () => {
  it('shows the time in the automation zone', () => {
    const text = formatRunTime(
      '2026-03-02T09:00:00+01:00',
      'Europe/Paris',
      false,
      'en-GB'
    );
    expect(text).toContain('09:00');
    expect(text).toContain('2026');
    expect(text).not.toContain(':00:00');
    const tokyo = formatRunTime(
      '2026-03-02T09:00:00+01:00',
      'Asia/Tokyo',
      true,
      'en-GB'
    );
    expect(tokyo).toContain('17:00:00');
  });

  it('falls back to the text for an unknown zone or a bad date', () => {
    expect(
      formatRunTime('2026-03-02T09:00:00+01:00', 'Nowhere/Land', false)
    ).toBe('2026-03-02 09:00:00+01:00');
    expect(formatRunTime('garbage', 'UTC', false)).toBe('garbage');
  });
});

describe('zones and names', () => {
  it('lists UTC and the browser zone', () => {
    const zones = timeZones();
    expect(zones).toContain('UTC');
    expect(zones).toContain('Europe/Paris');
    expect(zones).toContain(browserZone());
  });

  it('says which cron part is wrong, once', () => {
    expect(
      cronErrorText('minute: 61 is out of range 0-59', 'minute', trans)
    ).toBe('Invalid minutes: 61 is out of range 0-59');
    expect(cronErrorText("unknown time zone 'X'", 'timezone', trans)).toBe(
      "Invalid time zone: unknown time zone 'X'"
    );
    expect(cronErrorText('empty', null, trans)).toBe('Invalid: empty');
  });

  it('names cron fields in words', () => {
    expect(cronFieldName('day_of_month', trans)).toBe('day of month');
    expect(cronFieldName('odd', trans)).toBe('odd');
    expect(cronFieldName(null, trans)).toBeNull();
  });
});

describe('mergeFirstPage / appendPage', () => {
  const f = (id: string, outcome = 'fired') => ({ id, outcome });
  it('puts new items first, replaces changed ones, keeps older loaded ones', () => {
    const shown = [f('3', 'claimed'), f('2'), f('1')];
    const merged = mergeFirstPage(shown, 'c1', {
      items: [f('4'), f('3')],
      nextCursor: 'c3'
    });
    expect(merged.items).toEqual([f('4'), f('3'), f('2'), f('1')]);
    expect(merged.cursor).toBe('c1');
  });

  it('takes the fresh cursor when the page covers all that was shown', () => {
    const merged = mergeFirstPage([f('2')], null, {
      items: [f('3'), f('2')],
      nextCursor: 'c2'
    });
    expect(merged).toEqual({ items: [f('3'), f('2')], cursor: 'c2' });
  });

  it('appends a page without the items shown already', () => {
    expect(
      appendPage([f('4'), f('3')], {
        items: [f('3'), f('2')],
        nextCursor: null
      })
    ).toEqual({ items: [f('4'), f('3'), f('2')], cursor: null });
  });
});
