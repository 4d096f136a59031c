/**
 * One open workflow in the editor, without the DOM: its record, its text and format, whether
 * it changed since the last save, the live check (validation + drawing), saving (create or
 * update), running with an initial state, and its run history kept live over the WebSocket.
 * The React view renders `state` and calls these methods; the tests drive them directly against
 * the real REST and WebSocket clients with a scripted server.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import {
  IDefinition,
  IExecution,
  IExecutionSummary,
  IValidationIssue,
  IWorkflow,
  WorkscriptClient,
  WorkscriptError
} from '../api';
import { describeError } from '../common';
import type { IWorkscriptEvent, WorkscriptSocket } from '../socket';
import {
  canonical,
  convertText,
  newDefinition,
  parseText,
  recordFields,
  serialize,
  TextFormat
} from './document';
import { ICheckSnapshot, INITIAL_CHECK, LiveCheck } from './validation';

export interface INotice {
  kind: 'error' | 'info';
  message: string;
}

export interface IHistoryState {
  items: IExecutionSummary[];
  loading: boolean;
  error: unknown;
}

export interface ISessionState {
  /** `loading` until a stored workflow is read; `failed` when it could not be (`loadError`). */
  load: 'loading' | 'ready' | 'failed';
  loadError: unknown;
  /** The stored record's id; null until a new workflow is first saved. */
  workflowId: string | null;
  record: IWorkflow | null;
  text: string;
  format: TextFormat;
  /** Changed since it was read or saved (a new workflow: since it was made). */
  dirty: boolean;
  busy: 'saving' | 'running' | null;
  notice: INotice | null;
  check: ICheckSnapshot;
  history: IHistoryState;
}

export interface ISessionOptions {
  client: WorkscriptClient;
  socket: WorkscriptSocket;
  trans: TranslationBundle;
  /** The stored workflow to open; null for a new one. */
  workflowId: string | null;
  /** Makes a new workflow's template id unique (default: the time, base 36). */
  templateSuffix?: string;
  checkDelayMs?: number;
  /** The pause that gathers a burst of run events into one history read. */
  historyDelayMs?: number;
  historyLimit?: number;
  /** Called after each successful save (the sidebar reads its list again). */
  onSaved?: (record: IWorkflow) => void;
}

type Listener = (state: ISessionState) => void;
type TextListener = (text: string, format: TextFormat) => void;

export class WorkflowSession {
  constructor(options: ISessionOptions) {
    this._client = options.client;
    this._onSaved = options.onSaved;
    this._socket = options.socket;
    this._trans = options.trans;
    this._templateSuffix = options.templateSuffix ?? Date.now().toString(36);
    this._historyDelayMs = options.historyDelayMs ?? 250;
    this._historyLimit = options.historyLimit ?? 20;
    this._check = new LiveCheck({
      client: this._client,
      trans: this._trans,
      delayMs: options.checkDelayMs,
      onChange: check => this._checked(check)
    });
    this._state = {
      load: options.workflowId === null ? 'ready' : 'loading',
      loadError: null,
      workflowId: options.workflowId,
      record: null,
      text: '',
      format: 'json',
      dirty: false,
      busy: null,
      notice: null,
      check: INITIAL_CHECK,
      history: { items: [], loading: false, error: null }
    };
  }

  get state(): ISessionState {
    return this._state;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Called with each new state; returns the remover. */
  subscribe(listener: Listener): () => void {
    this._listeners.add(listener);
    return () => {
      this._listeners.delete(listener);
    };
  }

  /** Called when the session replaces the text (read, format switch): the editor shows it. */
  onTextReplaced(listener: TextListener): () => void {
    this._textListeners.add(listener);
    return () => {
      this._textListeners.delete(listener);
    };
  }

  /** Read the stored workflow, or lay out the template of a new one. */
  async start(): Promise<void> {
    if (this._state.workflowId === null) {
      const definition = newDefinition(this._templateSuffix);
      this._savedCanonical = canonical(definition);
      this._replaceText(serialize(definition, 'json'), 'json', true);
      return;
    }
    await this.reload();
  }

  /** Read the stored workflow again (the Retry of a failed load). */
  async reload(): Promise<void> {
    const id = this._state.workflowId;
    if (id === null) {
      return;
    }
    this._set({ load: 'loading', loadError: null });
    let record: IWorkflow;
    try {
      record = await this._client.getWorkflow(id);
    } catch (loadError) {
      if (!this._disposed) {
        this._set({ load: 'failed', loadError });
      }
      return;
    }
    if (this._disposed) {
      return;
    }
    this._savedCanonical = canonical(record.definition);
    // opened by its definition id, it goes on under its record id (the runs carry that one)
    this._set({ load: 'ready', record, workflowId: record.id, notice: null });
    this._replaceText(serialize(record.definition, 'json'), 'json', true);
    this._watchHistory(record.id);
  }

  /** The editor's text changed. */
  setText(text: string): void {
    if (this._disposed || text === this._state.text) {
      return;
    }
    // what a notice said (saved, refused) was about the text before this edit
    this._set({ text, dirty: text !== this._cleanText, notice: null });
    this._check.update(text, this._state.format);
  }

  /** Show the text in the other format; false (and a notice) when the text does not parse. */
  setFormat(format: TextFormat): boolean {
    const { text, format: current } = this._state;
    if (format === current) {
      return true;
    }
    const converted = convertText(text, current, format, this._trans);
    if (!converted.ok) {
      this._notice(
        'error',
        this._trans.__(
          'Fix line %1 before switching formats: %2',
          converted.problem.line,
          converted.problem.message
        )
      );
      return false;
    }
    this._set({ notice: null });
    this._replaceText(converted.text, format, !this._state.dirty);
    return true;
  }

  /** The definition of the current text, or null (and a notice) when it does not parse. */
  currentDefinition(): IDefinition | null {
    const parsed = parseText(this._state.text, this._state.format, this._trans);
    if (!parsed.ok) {
      this._notice(
        'error',
        this._trans.__(
          'Line %1: %2',
          parsed.problem.line,
          parsed.problem.message
        )
      );
      return null;
    }
    return parsed.definition;
  }

  /**
   * Store the text: a new workflow is created, a stored one updated (its name, version and
   * description are the definition's). True when saved; otherwise a notice says why and a
   * refused definition's issues are shown at their lines.
   */
  async save(): Promise<boolean> {
    if (this._disposed || this._state.busy !== null) {
      return false;
    }
    if (this._state.load !== 'ready') {
      this._notice('error', this._trans.__('The workflow is not loaded.'));
      return false;
    }
    const text = this._state.text;
    const definition = this.currentDefinition();
    if (definition === null) {
      return false;
    }
    this._set({ busy: 'saving', notice: null });
    const id = this._state.workflowId;
    let record: IWorkflow;
    try {
      record =
        id === null
          ? await this._client.createWorkflow({ definition })
          : await this._client.updateWorkflow(id, {
              definition,
              ...recordFields(definition)
            });
    } catch (error) {
      if (!this._disposed) {
        this._set({ busy: null });
        this._saveFailed(error, text);
      }
      return false;
    }
    if (this._disposed) {
      return true;
    }
    this._savedCanonical = canonical(definition);
    if (this._state.text === text) {
      this._cleanText = text;
    }
    this._set({
      busy: null,
      record,
      workflowId: record.id,
      dirty: this._state.text !== this._cleanText,
      notice: { kind: 'info', message: this._trans.__('Saved.') }
    });
    if (id === null) {
      this._watchHistory(record.id);
    }
    this._onSaved?.(record);
    return true;
  }

  /**
   * Run the workflow with `initialState`, saving it first when it changed (or was never
   * saved). The new run, or null when saving or starting failed (a notice says why).
   */
  async run(initialState: Record<string, unknown>): Promise<IExecution | null> {
    if (this._disposed || this._state.busy !== null) {
      return null;
    }
    if (this._state.workflowId === null || this._state.dirty) {
      if (!(await this.save())) {
        return null;
      }
    }
    const id = this._state.workflowId;
    if (id === null) {
      return null;
    }
    this._set({ busy: 'running', notice: null });
    try {
      const run = await this._client.runWorkflow(id, initialState);
      if (!this._disposed) {
        this._set({ busy: null });
        this._scheduleHistory();
      }
      return run;
    } catch (error) {
      if (!this._disposed) {
        this._set({ busy: null });
        this._notice(
          'error',
          this._trans.__(
            'The run did not start: %1',
            describeError(error, this._trans)
          )
        );
      }
      return null;
    }
  }

  /** Read the run history again. */
  async refreshHistory(): Promise<void> {
    const id = this._state.workflowId;
    if (id === null || this._disposed) {
      return;
    }
    const mine = ++this._historyGeneration;
    this._set({
      history: { ...this._state.history, loading: true, error: null }
    });
    try {
      const page = await this._client.listExecutions({
        workflowId: id,
        limit: this._historyLimit
      });
      if (mine === this._historyGeneration && !this._disposed) {
        this._set({
          history: { items: page.items, loading: false, error: null }
        });
      }
    } catch (error) {
      if (mine === this._historyGeneration && !this._disposed) {
        this._set({
          history: { ...this._state.history, loading: false, error }
        });
      }
    }
  }

  dismissNotice(): void {
    this._set({ notice: null });
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._check.dispose();
    this._unwatchHistory();
    this._listeners.clear();
    this._textListeners.clear();
  }

  private _saveFailed(error: unknown, text: string): void {
    const trans = this._trans;
    if (error instanceof WorkscriptError) {
      const issues = validationIssues(error);
      if (issues !== null) {
        this._check.showIssues(text, issues);
        this._notice(
          'error',
          trans._n(
            'Not saved: the workflow has %1 problem.',
            'Not saved: the workflow has %1 problems.',
            issues.length
          )
        );
        return;
      }
      if (error.status === 409) {
        this._notice(
          'error',
          trans.__(
            'Not saved: %1 Change the id to save it as another workflow.',
            error.message
          )
        );
        return;
      }
      if (error.status === 404 && this._state.workflowId !== null) {
        this._notice(
          'error',
          trans.__(
            'Not saved: this workflow no longer exists (it was deleted). Copy its text to keep it.'
          )
        );
        return;
      }
    }
    this._notice(
      'error',
      trans.__('Not saved: %1', describeError(error, trans))
    );
  }

  /** A check read the current text: the same definition as the saved one is not a change. */
  private _checked(check: ICheckSnapshot): void {
    const change: Partial<ISessionState> = { check };
    if (
      this._state.dirty &&
      check.phase !== 'pending' &&
      check.definition !== null &&
      canonical(check.definition) === this._savedCanonical
    ) {
      change.dirty = false;
      this._cleanText = this._state.text;
    }
    this._set(change);
  }

  private _replaceText(text: string, format: TextFormat, clean: boolean): void {
    if (clean) {
      this._cleanText = text;
    }
    this._set({ text, format, dirty: text !== this._cleanText });
    this._check.update(text, format);
    for (const listener of [...this._textListeners]) {
      listener(text, format);
    }
  }

  private _watchHistory(id: string): void {
    if (this._watched === id) {
      return;
    }
    this._unwatchHistory();
    this._watched = id;
    const channel = `workflow:${id}`;
    this._removeEvents = this._socket.onEvent((event: IWorkscriptEvent) => {
      if (event.payload.workflowId === id) {
        this._scheduleHistory();
      }
    }, 'workflow:*');
    this._socket.subscribe(channel);
    this._socket.connect();
    void this.refreshHistory();
  }

  private _unwatchHistory(): void {
    if (this._watched !== null) {
      this._socket.unsubscribe(`workflow:${this._watched}`);
      this._watched = null;
    }
    this._removeEvents?.();
    this._removeEvents = null;
    if (this._historyTimer !== null) {
      clearTimeout(this._historyTimer);
      this._historyTimer = null;
    }
  }

  /** A burst of run events costs one history read. */
  private _scheduleHistory(): void {
    if (this._historyTimer !== null || this._disposed) {
      return;
    }
    this._historyTimer = setTimeout(() => {
      this._historyTimer = null;
      void this.refreshHistory();
    }, this._historyDelayMs);
  }

  private _notice(kind: INotice['kind'], message: string): void {
    this._set({ notice: { kind, message } });
  }

  private _set(change: Partial<ISessionState>): void {
    if (this._disposed) {
      return;
    }
    this._state = { ...this._state, ...change };
    for (const listener of [...this._listeners]) {
      listener(this._state);
    }
  }

  private readonly _client: WorkscriptClient;
  private readonly _onSaved: ((record: IWorkflow) => void) | undefined;
  private readonly _socket: WorkscriptSocket;
  private readonly _trans: TranslationBundle;
  private readonly _templateSuffix: string;
  private readonly _historyDelayMs: number;
  private readonly _historyLimit: number;
  private readonly _check: LiveCheck;
  private readonly _listeners = new Set<Listener>();
  private readonly _textListeners = new Set<TextListener>();
  private _state: ISessionState;
  private _savedCanonical = '';
  /** The last text known to hold the saved definition. */
  private _cleanText: string | null = null;
  private _watched: string | null = null;
  private _removeEvents: (() => void) | null = null;
  private _historyTimer: ReturnType<typeof setTimeout> | null = null;
  private _historyGeneration = 0;
  private _disposed = false;
}

/** The issues of a refused definition (`WORKFLOW_VALIDATION_ERROR`), or null. */
export function validationIssues(
  error: WorkscriptError
): IValidationIssue[] | null {
  if (
    error.code !== 'WORKFLOW_VALIDATION_ERROR' ||
    !Array.isArray(error.details)
  ) {
    return null;
  }
  return error.details
    .filter(
      (issue): issue is IValidationIssue =>
        typeof issue === 'object' &&
        issue !== null &&
        typeof (issue as IValidationIssue).path === 'string' &&
        typeof (issue as IValidationIssue).message === 'string'
    )
    .map(issue => ({ ...issue, code: String(issue.code ?? '') }));
}
