/**
 * The REST client of the Workscript server extension (`/workscript/*`).
 *
 * Every call goes through `ServerConnection.makeRequest` with the server settings Lab gives us,
 * so the base URL (JupyterHub's `/user/<name>/`), the token and the XSRF header are Jupyter's
 * own and need nothing here. Answers are typed after `workscript_jupyter/server/openapi.yaml`;
 * a refusal becomes a `WorkscriptError` carrying the server's `{error: {code, message, details}}`
 * (or Jupyter's own `{message, reason}` shape) so the panel can say what went wrong.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** A run's state. */
export type ExecutionStatus =
  | 'queued'
  | 'running'
  | 'completed'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'interrupted';

/** The statuses after which a run changes no more. */
export const FINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set([
  'completed',
  'failed',
  'timed_out',
  'cancelled',
  'interrupted'
]);

/** One page of a keyset-paged list; `nextCursor` is null on the last page. */
export interface IPage<T> {
  items: T[];
  nextCursor: string | null;
}

/** A workflow document (docs/workflow-language.md). */
export interface IDefinition {
  id?: string;
  name?: string;
  version?: string;
  description?: string;
  initialState?: Record<string, unknown>;
  workflow: unknown[];
  [key: string]: unknown;
}

/** A stored workflow. */
export interface IWorkflow {
  id: string;
  name: string;
  description: string;
  version: string;
  definition: IDefinition;
  ownerId: string;
  createdAt: string;
  updatedAt: string;
}

/** Why a run did not complete. */
export interface IRunError {
  code: string;
  message: string;
  nodePath?: string;
  nodeType?: string;
  [key: string]: unknown;
}

/** A run as a list shows it (no states, no timeline). */
export interface IExecutionSummary {
  id: string;
  workflowId: string | null;
  automationId: string | null;
  ownerId: string;
  status: ExecutionStatus;
  trigger: string;
  error: IRunError | null;
  nodeRuns: number;
  attempt: number;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  scheduledFor?: string | null;
  hasWarnings?: boolean;
  /** The run whose `runWorkflow` node started this one. */
  parentExecutionId?: string | null;
}

/** One run, complete. */
export interface IExecution extends IExecutionSummary {
  initialState: Record<string, unknown> | null;
  finalState: Record<string, unknown> | null;
  timeline: unknown[];
}

/** An automation: a workflow or a notebook run by cron, webhook or hand. */
export interface IAutomation {
  id: string;
  name: string;
  ownerId: string;
  workflowId: string | null;
  notebookPath: string | null;
  parameters: Record<string, unknown>;
  triggerType: 'cron' | 'webhook' | 'manual';
  cron: string | null;
  timezone: string;
  enabled: boolean;
  misfirePolicy: 'skip' | 'run_once' | 'run_all';
  misfireGraceSeconds: number;
  overlapPolicy: 'skip' | 'queue' | 'allow';
  timeoutSeconds: number | null;
  hasWebhookToken: boolean;
  retries?: IRetryPolicy;
  /** Only in the answer that created or rotated the token. */
  webhookToken?: string;
  /** `/workscript/hooks/<token>` under the base URL, with `webhookToken`. */
  webhookPath?: string;
  nextRunAt: string | null;
  lastRunAt: string | null;
  createdAt: string;
  updatedAt: string;
  [key: string]: unknown;
}

/** One problem of a workflow; `path` is a JSON pointer into the definition. */
export interface IValidationIssue {
  path: string;
  message: string;
  code: string;
}

export interface IValidationResult {
  valid: boolean;
  errors: IValidationIssue[];
}

export type CronValidateResult =
  | {
      valid: true;
      expression: string;
      timezone: string;
      hasSeconds: boolean;
      description: string;
      nextRuns: string[];
      nextRunsLocal: string[];
    }
  | { valid: false; error: string; field: string | null };

/** One node of a run's timeline (`GET /workscript/executions/{id}/timeline`). */
export interface ITimelineEntry {
  path: string;
  type: string;
  edge?: string | null;
  startedAt?: string;
  durationMs?: number;
  error?: string | null;
  /** A node still running (a live timeline only): `durationMs` is its time so far. */
  running?: boolean;
}

/** One cron tick of an automation: fired (with its run), skipped or failed (with why). */
export interface IFire {
  id: string;
  automationId: string;
  scheduledFor: string;
  claimedBy: string;
  claimedAt: string;
  outcome: 'claimed' | 'fired' | 'skipped' | 'failed';
  reason: string | null;
  executionId: string | null;
}

/** How a failed run of an automation is retried. */
export interface IRetryPolicy {
  count: number;
  delaySeconds: number;
  backoff: number;
}

/** The body of a create (all of `name`, `triggerType` and one target) or an update (any). */
export interface IAutomationInput {
  name?: string;
  workflowId?: string;
  notebookPath?: string;
  parameters?: Record<string, unknown> | null;
  triggerType?: 'cron' | 'webhook' | 'manual';
  cron?: string;
  timezone?: string;
  enabled?: boolean;
  misfirePolicy?: 'skip' | 'run_once' | 'run_all';
  misfireGraceSeconds?: number;
  overlapPolicy?: 'skip' | 'queue' | 'allow';
  retries?: Partial<IRetryPolicy>;
  timeoutSeconds?: number | null;
}

/** A workflow to store: the definition, and a name/description/version if not its own. */
export interface IWorkflowInput {
  definition: IDefinition;
  name?: string;
  description?: string;
  version?: string;
}

/** The palettes the server draws workflow graphs in. */
export type GraphTheme = 'light' | 'dark';

/** The palette matching Lab's current theme (light unless the theme says it is dark). */
export function currentGraphTheme(): GraphTheme {
  return typeof document !== 'undefined' &&
    document.body?.dataset.jpThemeLight === 'false'
    ? 'dark'
    : 'light';
}

/** Filters of the runs list. */
export interface IExecutionQuery {
  workflowId?: string;
  status?: ExecutionStatus[];
  trigger?: string;
  limit?: number;
  cursor?: string | null;
}

/**
 * A refusal or a failure of a Workscript call. `status` is the HTTP status (0 when the server
 * could not be reached); `code` the server's error code (`NETWORK_ERROR` for no answer,
 * `HTTP_<status>` when the answer had no recognisable error body).
 */
export class WorkscriptError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly retryAfterSeconds: number | null = null
  ) {
    super(message);
    this.name = 'WorkscriptError';
  }
}

/** The parts of a URL query: arrays repeat the name, absent values are left out. */
type Query = Record<
  string,
  string | number | boolean | string[] | null | undefined
>;

/** `ServerConnection.makeRequest`'s signature, replaceable in tests. */
export type MakeRequest = typeof ServerConnection.makeRequest;

/** The typed client of the Workscript REST API. */
export class WorkscriptClient {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
    private readonly makeRequest: MakeRequest = ServerConnection.makeRequest
  ) {}

  /** Who the caller is (`GET /workscript/auth/me`): its id, name and role. */
  me(): Promise<{ id: string; username: string; role: string }> {
    return this.request('GET', 'auth/me');
  }

  listWorkflows(
    options: { name?: string; limit?: number; cursor?: string | null } = {}
  ): Promise<IPage<IWorkflow>> {
    return this.request('GET', 'workflows', { query: options });
  }

  getWorkflow(id: string): Promise<IWorkflow> {
    return this.request('GET', `workflows/${encodeURIComponent(id)}`);
  }

  createWorkflow(body: IWorkflowInput): Promise<IWorkflow> {
    return this.request('POST', 'workflows', { body });
  }

  updateWorkflow(
    id: string,
    body: Partial<IWorkflowInput>
  ): Promise<IWorkflow> {
    return this.request('PUT', `workflows/${encodeURIComponent(id)}`, { body });
  }

  deleteWorkflow(id: string): Promise<void> {
    return this.request('DELETE', `workflows/${encodeURIComponent(id)}`);
  }

  /** The SVG drawing of a stored workflow (the RunMonitor's own), in the palette of `theme`. */
  workflowGraph(id: string, theme: GraphTheme = 'light'): Promise<string> {
    return this.request('GET', `workflows/${encodeURIComponent(id)}/graph`, {
      query: { theme },
      text: true
    });
  }

  /** The SVG drawing of a definition not stored (the editor's); a 400 when it is invalid. */
  definitionGraph(
    definition: IDefinition,
    theme: GraphTheme = 'light'
  ): Promise<string> {
    return this.request('POST', 'workflows/graph', {
      query: { theme },
      body: { definition },
      text: true
    });
  }

  validateWorkflow(definition: IDefinition): Promise<IValidationResult> {
    return this.request('POST', 'workflows/validate', {
      body: { definition }
    });
  }

  /** Start a run; with `wait` (seconds) the server answers when it ends, if it does in time. */
  runWorkflow(
    id: string,
    initialState: Record<string, unknown> = {},
    wait?: number
  ): Promise<IExecution> {
    return this.request('POST', `workflows/${encodeURIComponent(id)}/run`, {
      query: { wait },
      body: { initialState }
    });
  }

  listExecutions(
    query: IExecutionQuery = {}
  ): Promise<IPage<IExecutionSummary>> {
    const { status, ...rest } = query;
    return this.request('GET', 'executions', {
      query: { ...rest, status: status && status.length ? status : undefined }
    });
  }

  getExecution(id: string): Promise<IExecution> {
    return this.request('GET', `executions/${encodeURIComponent(id)}`);
  }

  cancelExecution(id: string): Promise<IExecution> {
    return this.request('POST', `executions/${encodeURIComponent(id)}/cancel`);
  }

  listAutomations(
    options: { enabled?: boolean; limit?: number; cursor?: string | null } = {}
  ): Promise<IPage<IAutomation>> {
    return this.request('GET', 'automations', { query: options });
  }

  getTimeline(id: string): Promise<{
    executionId: string;
    timeline: ITimelineEntry[];
    /** Read from the run going on (a running run of the server that answers). */
    live?: boolean;
  }> {
    return this.request('GET', `executions/${encodeURIComponent(id)}/timeline`);
  }

  /** A new run with the same definition snapshot and initial state (queued). */
  rerunExecution(id: string): Promise<IExecution> {
    return this.request('POST', `executions/${encodeURIComponent(id)}/rerun`);
  }

  getAutomation(id: string): Promise<IAutomation> {
    return this.request('GET', `automations/${encodeURIComponent(id)}`);
  }

  createAutomation(body: IAutomationInput): Promise<IAutomation> {
    return this.request('POST', 'automations', { body });
  }

  updateAutomation(id: string, body: IAutomationInput): Promise<IAutomation> {
    return this.request('PUT', `automations/${encodeURIComponent(id)}`, {
      body
    });
  }

  deleteAutomation(id: string): Promise<void> {
    return this.request('DELETE', `automations/${encodeURIComponent(id)}`);
  }

  /** Run an automation now (a manual fire). */
  executeAutomation(id: string): Promise<IExecution> {
    return this.request(
      'POST',
      `automations/${encodeURIComponent(id)}/execute`
    );
  }

  /** A new webhook token: the answer, and only it, carries `webhookToken`/`webhookPath`. */
  rotateWebhook(id: string): Promise<IAutomation> {
    return this.request(
      'POST',
      `automations/${encodeURIComponent(id)}/webhook/rotate`
    );
  }

  listFires(
    id: string,
    options: { limit?: number; cursor?: string | null } = {}
  ): Promise<IPage<IFire>> {
    return this.request('GET', `automations/${encodeURIComponent(id)}/fires`, {
      query: options
    });
  }

  listAutomationExecutions(
    id: string,
    options: { limit?: number; cursor?: string | null } = {}
  ): Promise<IPage<IExecutionSummary>> {
    return this.request(
      'GET',
      `automations/${encodeURIComponent(id)}/executions`,
      { query: options }
    );
  }

  toggleAutomation(id: string, enabled?: boolean): Promise<IAutomation> {
    return this.request(
      'PATCH',
      `automations/${encodeURIComponent(id)}/toggle`,
      { body: enabled === undefined ? {} : { enabled } }
    );
  }

  validateCron(
    expression: string,
    timezone?: string,
    count?: number
  ): Promise<CronValidateResult> {
    return this.request('POST', 'cron/validate', {
      body: { expression, timezone, count }
    });
  }

  /** Every item of a paged list, following `nextCursor` (for small lists: automations). */
  async all<T>(
    page: (cursor: string | null) => Promise<IPage<T>>,
    maxPages = 20
  ): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < maxPages; i++) {
      const result: IPage<T> = await page(cursor);
      items.push(...result.items);
      cursor = result.nextCursor;
      if (cursor === null) {
        break;
      }
    }
    return items;
  }

  /** The absolute URL of `/workscript/<path>` under the server's base URL. */
  url(path: string, query: Query = {}): string {
    const url = URLExt.join(this.settings.baseUrl, 'workscript', path);
    const parts: string[] = [];
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined || value === null || value === '') {
        continue;
      }
      const values = Array.isArray(value) ? value : [value];
      for (const one of values) {
        parts.push(
          `${encodeURIComponent(name)}=${encodeURIComponent(String(one))}`
        );
      }
    }
    return parts.length ? `${url}?${parts.join('&')}` : url;
  }

  /** One call of `/workscript/<path>` (JSON in and out): the feature clients' way in too. */
  async request<T>(
    method: string,
    path: string,
    options: { query?: Query; body?: unknown; text?: boolean } = {}
  ): Promise<T> {
    const init: RequestInit = { method };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      // the server refuses a body of any other type (415)
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await this.makeRequest(
        this.url(path, options.query),
        init,
        this.settings
      );
    } catch (error) {
      throw new WorkscriptError(
        0,
        'NETWORK_ERROR',
        `the Jupyter server could not be reached (${method} /workscript/${path}): ${String(
          (error as Error)?.message ?? error
        )}`
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw errorFromResponse(response, text, method, path);
    }
    if (options.text) {
      return text as T;
    }
    if (!text) {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new WorkscriptError(
        response.status,
        'BAD_RESPONSE',
        `${method} /workscript/${path} answered ${response.status} with a body that is not JSON`
      );
    }
  }
}

/** The `WorkscriptError` of a refused request, from whichever error body it carries. */
export function errorFromResponse(
  response: Response,
  text: string,
  method: string,
  path: string
): WorkscriptError {
  const retry = Number(response.headers.get('Retry-After'));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
  const where = `${method} /workscript/${path}`;
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const error = body?.error;
  if (error && typeof error === 'object' && typeof error.code === 'string') {
    return new WorkscriptError(
      response.status,
      error.code,
      typeof error.message === 'string' ? error.message : `${where} failed`,
      error.details ?? null,
      retryAfter
    );
  }
  // Jupyter's own refusals (no credentials, XSRF, a denied permission) and its 500s
  if (body && typeof body.message === 'string') {
    return new WorkscriptError(
      response.status,
      codeOfStatus(response.status),
      body.message || body.reason || `${where} failed with ${response.status}`,
      body.reason ? { reason: body.reason } : null,
      retryAfter
    );
  }
  return new WorkscriptError(
    response.status,
    codeOfStatus(response.status),
    `${where} failed with ${response.status} ${response.statusText}`.trim(),
    null,
    retryAfter
  );
}

function codeOfStatus(status: number): string {
  const known: Record<number, string> = {
    401: 'UNAUTHORIZED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    503: 'SERVICE_UNAVAILABLE'
  };
  return known[status] ?? `HTTP_${status}`;
}
