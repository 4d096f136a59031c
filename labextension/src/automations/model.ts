/**
 * The automation form without its widgets: the form's fields as the user types them, the
 * request body they make (with the mistakes found before sending), the fields an update
 * changes, the server's 400 `details` mapped back onto the fields, the webhook's absolute
 * URL, the cron preview's times, and the merge of a refreshed fire log into the one shown.
 */

import { URLExt } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type {
  IAutomation,
  IAutomationInput,
  IPage,
  IRetryPolicy
} from '../api';
import type { INewAutomationArgs } from '../context';

export type TriggerType = IAutomation['triggerType'];
export type MisfirePolicy = IAutomation['misfirePolicy'];
export type OverlapPolicy = IAutomation['overlapPolicy'];
export type TargetKind = 'workflow' | 'notebook';

export const TRIGGER_TYPES: readonly TriggerType[] = [
  'cron',
  'webhook',
  'manual'
];
export const MISFIRE_POLICIES: readonly MisfirePolicy[] = [
  'skip',
  'run_once',
  'run_all'
];
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = [
  'skip',
  'queue',
  'allow'
];

/** The form as typed: text fields stay text until the body is made. */
export interface IAutomationForm {
  name: string;
  target: TargetKind;
  workflowId: string;
  notebookPath: string;
  /** A JSON object, as text. */
  parameters: string;
  triggerType: TriggerType;
  cron: string;
  timezone: string;
  enabled: boolean;
  misfirePolicy: MisfirePolicy;
  misfireGraceSeconds: string;
  overlapPolicy: OverlapPolicy;
  retryCount: string;
  retryDelaySeconds: string;
  retryBackoff: string;
  /** Empty: no timeout. */
  timeoutSeconds: string;
}

export type FormField = keyof IAutomationForm;
export type FieldErrors = Partial<Record<FormField, string>>;

/** The server's defaults (openapi.yaml, AutomationCreate). */
export const DEFAULT_RETRIES: IRetryPolicy = {
  count: 0,
  delaySeconds: 60,
  backoff: 2
};
export const DEFAULT_CRON = '0 9 * * *';
export const DEFAULT_GRACE_SECONDS = 3600;

/** The browser's IANA zone (UTC when it has none). */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** The IANA zones the browser knows, UTC included, sorted. */
export function timeZones(): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  return [...new Set(['UTC', ...zones])].sort();
}

/** The file name of a notebook path without its `.ipynb`. */
function notebookStem(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.ipynb$/i, '');
}

/** A new automation's form, prefilled by the command that opened it. */
export function newForm(
  prefill: INewAutomationArgs | undefined,
  zone: string
): IAutomationForm {
  const notebookPath = prefill?.notebookPath ?? '';
  return {
    name: notebookPath ? notebookStem(notebookPath) : '',
    target: notebookPath && !prefill?.workflowId ? 'notebook' : 'workflow',
    workflowId: prefill?.workflowId ?? '',
    notebookPath,
    parameters: JSON.stringify(prefill?.parameters ?? {}, null, 2),
    triggerType: 'cron',
    cron: DEFAULT_CRON,
    timezone: zone,
    enabled: true,
    misfirePolicy: 'run_once',
    misfireGraceSeconds: String(DEFAULT_GRACE_SECONDS),
    overlapPolicy: 'skip',
    retryCount: String(DEFAULT_RETRIES.count),
    retryDelaySeconds: String(DEFAULT_RETRIES.delaySeconds),
    retryBackoff: String(DEFAULT_RETRIES.backoff),
    timeoutSeconds: ''
  };
}

/** The form of a stored automation. */
export function formOf(automation: IAutomation): IAutomationForm {
  const retries = { ...DEFAULT_RETRIES, ...(automation.retries ?? {}) };
  return {
    name: automation.name,
    target: automation.notebookPath !== null ? 'notebook' : 'workflow',
    workflowId: automation.workflowId ?? '',
    notebookPath: automation.notebookPath ?? '',
    parameters: JSON.stringify(automation.parameters ?? {}, null, 2),
    triggerType: automation.triggerType,
    cron: automation.cron ?? '',
    timezone: automation.timezone,
    enabled: automation.enabled,
    misfirePolicy: automation.misfirePolicy,
    misfireGraceSeconds: String(automation.misfireGraceSeconds),
    overlapPolicy: automation.overlapPolicy,
    retryCount: String(retries.count),
    retryDelaySeconds: String(retries.delaySeconds),
    retryBackoff: String(retries.backoff),
    timeoutSeconds:
      automation.timeoutSeconds === null
        ? ''
        : String(automation.timeoutSeconds)
  };
}

/**
 * The body the form makes, or the fields it cannot make one of (text where a number or a
 * JSON object belongs, no target). Ranges and names are the server's to judge: its 400
 * names each field, and `errorsOfDetails` puts the message beside it.
 */
export function inputOf(
  form: IAutomationForm,
  trans: TranslationBundle
): { input: IAutomationInput; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const input: IAutomationInput = {
    name: form.name,
    triggerType: form.triggerType,
    enabled: form.enabled,
    misfirePolicy: form.misfirePolicy,
    overlapPolicy: form.overlapPolicy
  };
  const number = (field: FormField, text: string): number | undefined => {
    const trimmed = text.trim();
    const value = trimmed === '' ? NaN : Number(trimmed);
    if (!Number.isFinite(value)) {
      errors[field] = trans.__('Enter a number.');
      return undefined;
    }
    return value;
  };

  if (form.target === 'workflow') {
    if (!form.workflowId) {
      errors.workflowId = trans.__('Choose the workflow to run.');
    } else {
      input.workflowId = form.workflowId;
    }
  } else {
    if (!form.notebookPath.trim()) {
      errors.notebookPath = trans.__('Enter the path of the notebook to run.');
    } else {
      input.notebookPath = form.notebookPath.trim();
    }
    const parameters = parseParameters(form.parameters, trans);
    if (typeof parameters === 'string') {
      errors.parameters = parameters;
    } else {
      input.parameters = parameters;
    }
  }
  if (form.triggerType === 'cron') {
    input.cron = form.cron.trim();
    input.timezone = form.timezone.trim();
  }
  const grace = number('misfireGraceSeconds', form.misfireGraceSeconds);
  if (grace !== undefined) {
    input.misfireGraceSeconds = grace;
  }
  const count = number('retryCount', form.retryCount);
  const delaySeconds = number('retryDelaySeconds', form.retryDelaySeconds);
  const backoff = number('retryBackoff', form.retryBackoff);
  if (
    count !== undefined &&
    delaySeconds !== undefined &&
    backoff !== undefined
  ) {
    input.retries = { count, delaySeconds, backoff };
  }
  if (form.timeoutSeconds.trim() === '') {
    input.timeoutSeconds = null;
  } else {
    const timeout = number('timeoutSeconds', form.timeoutSeconds);
    if (timeout !== undefined) {
      input.timeoutSeconds = timeout;
    }
  }
  return { input, errors };
}

/** The parameters text as an object, or what is wrong with it. */
export function parseParameters(
  text: string,
  trans: TranslationBundle
): Record<string, unknown> | string {
  if (!text.trim()) {
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return trans.__('Not valid JSON: %1', String((error as Error).message));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return trans.__('Enter a JSON object, such as {"alpha": 0.5}.');
  }
  return value as Record<string, unknown>;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** `value` with its object keys sorted, so that key order does not count as a change. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(canonical);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map(k => [k, canonical((value as Record<string, unknown>)[k])])
    );
  }
  return value;
}

/**
 * The part of `input` (the form's whole body) that differs from `original`: the body of an
 * update. `enabled` is left out (the toolbar's toggle sets it at once). A change of target
 * sends the new one (the server clears the other).
 */
export function changesOf(
  original: IAutomation,
  input: IAutomationInput
): IAutomationInput {
  const before: IAutomationInput = {
    name: original.name,
    triggerType: original.triggerType,
    misfirePolicy: original.misfirePolicy,
    misfireGraceSeconds: original.misfireGraceSeconds,
    overlapPolicy: original.overlapPolicy,
    retries: { ...DEFAULT_RETRIES, ...(original.retries ?? {}) },
    timeoutSeconds: original.timeoutSeconds,
    cron: original.cron ?? '',
    timezone: original.timezone,
    ...(original.notebookPath !== null
      ? {
          notebookPath: original.notebookPath,
          parameters: original.parameters ?? {}
        }
      : { workflowId: original.workflowId ?? undefined })
  };
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === 'enabled' || value === undefined) {
      continue;
    }
    if (!same(value, (before as Record<string, unknown>)[key])) {
      changes[key] = value;
    }
  }
  // a new notebook target carries its parameters with it
  if (changes.notebookPath !== undefined && input.parameters !== undefined) {
    changes.parameters = input.parameters;
  }
  return changes as IAutomationInput;
}

/** The form field each server field name (automation_input.py) belongs to. */
const SERVER_FIELDS: Record<string, FormField> = {
  name: 'name',
  workflowId: 'workflowId',
  notebookPath: 'notebookPath',
  parameters: 'parameters',
  triggerType: 'triggerType',
  cron: 'cron',
  cronExpression: 'cron',
  expression: 'cron',
  timezone: 'timezone',
  enabled: 'enabled',
  misfirePolicy: 'misfirePolicy',
  misfireGraceSeconds: 'misfireGraceSeconds',
  overlapPolicy: 'overlapPolicy',
  retries: 'retryCount',
  'retries.count': 'retryCount',
  retryCount: 'retryCount',
  'retries.delaySeconds': 'retryDelaySeconds',
  retryDelaySeconds: 'retryDelaySeconds',
  'retries.backoff': 'retryBackoff',
  retryBackoff: 'retryBackoff',
  timeoutSeconds: 'timeoutSeconds'
};

/**
 * A 400's `details` (`[{field, message}]`, or one `{field}` object) on the form's fields;
 * what belongs to no field (an unknown key, the body) in `other`, as "field: message".
 */
export function errorsOfDetails(
  details: unknown,
  target: TargetKind = 'workflow'
): { fields: FieldErrors; other: string[] } {
  const fields: FieldErrors = {};
  const other: string[] = [];
  const list = Array.isArray(details)
    ? details
    : details && typeof details === 'object'
      ? [details]
      : [];
  for (const item of list) {
    if (!item || typeof item !== 'object') {
      continue;
    }
    const field = String((item as { field?: unknown }).field ?? '');
    const message = (item as { message?: unknown }).message;
    if (typeof message !== 'string' || !message) {
      continue;
    }
    let mapped: FormField | undefined = SERVER_FIELDS[field];
    // "an automation runs a workflowId or a notebookPath" is said of workflowId
    if (mapped === 'workflowId' && target === 'notebook') {
      mapped = 'notebookPath';
    }
    if (mapped === undefined) {
      other.push(field ? `${field}: ${message}` : message);
    } else if (fields[mapped] === undefined) {
      fields[mapped] = message;
    } else {
      fields[mapped] = `${fields[mapped]}; ${message}`;
    }
  }
  return { fields, other };
}

/**
 * The absolute URL of a webhook: `webhookPath` (`/workscript/hooks/<token>`, relative to the
 * server's base URL) under `baseUrl` (absolute, as Lab makes it, or a path under `origin`).
 */
export function webhookUrl(
  origin: string,
  baseUrl: string,
  webhookPath: string
): string {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i;
  if (absolute.test(webhookPath)) {
    return webhookPath;
  }
  const base = absolute.test(baseUrl) ? baseUrl : URLExt.join(origin, baseUrl);
  const baseOrigin = absolute.exec(base)![0];
  const basePath = base.slice(baseOrigin.length).replace(/\/?$/, '/');
  // a path that already carries the base URL's prefix is not given it twice
  if (basePath !== '/' && webhookPath.startsWith(basePath)) {
    return URLExt.join(baseOrigin, webhookPath);
  }
  return URLExt.join(base, webhookPath);
}

/** A next run time (an ISO instant with the zone's offset) in words, in that zone. */
export function formatRunTime(
  iso: string,
  zone: string,
  hasSeconds: boolean,
  locale?: string
): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const options: Intl.DateTimeFormatOptions = {
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: hasSeconds ? '2-digit' : undefined,
    timeZoneName: 'short'
  };
  try {
    return date.toLocaleString(locale, { ...options, timeZone: zone });
  } catch {
    // a zone this browser does not know: the server's own wall time
    return iso.replace('T', ' ');
  }
}

/** The cron part a validation error is about, in words. */
export function cronFieldName(
  field: string | null,
  trans: TranslationBundle
): string | null {
  const names: Record<string, string> = {
    second: trans.__('seconds'),
    minute: trans.__('minutes'),
    hour: trans.__('hours'),
    day_of_month: trans.__('day of month'),
    month: trans.__('month'),
    day_of_week: trans.__('day of week'),
    timezone: trans.__('time zone'),
    expression: trans.__('expression')
  };
  if (field === null || field === '') {
    return null;
  }
  return names[field] ?? field;
}

/** A cron validation error in words, naming the part at fault once ("minute: 61 is out of
 * range" → "Invalid minutes: 61 is out of range"). */
export function cronErrorText(
  message: string,
  field: string | null,
  trans: TranslationBundle
): string {
  const where = cronFieldName(field, trans);
  const prefix = `${field}:`;
  const text =
    field && message.startsWith(prefix)
      ? message.slice(prefix.length).trim()
      : message;
  return where
    ? trans.__('Invalid %1: %2', where, text)
    : trans.__('Invalid: %1', text);
}

/**
 * A refreshed first page merged into the list shown: fresh items replace the same ids and
 * come first; items loaded before that the page no longer holds stay after them. The cursor
 * stays the one of the list shown when it reaches further than the fresh page.
 */
export function mergeFirstPage<T extends { id: string }>(
  shown: T[],
  shownCursor: string | null,
  fresh: IPage<T>
): { items: T[]; cursor: string | null } {
  const ids = new Set(fresh.items.map(item => item.id));
  const rest = shown.filter(item => !ids.has(item.id));
  return {
    items: [...fresh.items, ...rest],
    cursor: rest.length > 0 ? shownCursor : fresh.nextCursor
  };
}

/** A next page appended, without the items already shown (new ones pushed the page down). */
export function appendPage<T extends { id: string }>(
  shown: T[],
  page: IPage<T>
): { items: T[]; cursor: string | null } {
  const ids = new Set(shown.map(item => item.id));
  return {
    items: [...shown, ...page.items.filter(item => !ids.has(item.id))],
    cursor: page.nextCursor
  };
}
