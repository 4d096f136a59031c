/**
 * Checking a workflow as it is typed. Each change waits for a pause (300 ms); then the text is
 * read (a syntax error is reported at its line with no request), the definition is sent to
 * `POST /workscript/workflows/validate`, its issues are placed at their lines through their
 * JSON pointers, and a valid definition is drawn by `POST /workscript/workflows/graph`. An
 * answer about a text that has changed since is dropped; a definition already checked (the
 * same after a format switch or a whitespace edit) is not sent again. The last good drawing
 * stays while the text is invalid. No DOM: the session and the tests drive it.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import {
  currentGraphTheme,
  type IDefinition,
  type IValidationIssue,
  type WorkscriptClient
} from '../api';
import { canonical, parseText } from './document';
import { locate, sourceTree, TextFormat } from './pointers';

/** A problem placed in the text. `path` is the server's pointer (null for a syntax error). */
export interface IIssueAt {
  line: number;
  from: number;
  to: number;
  message: string;
  code: string;
  path: string | null;
  /** False when the pointer's target is missing and its parent's line is given. */
  exact: boolean;
}

/**
 * - `pending`: the text changed, the check waits for a pause;
 * - `checking`: the server is asked;
 * - `syntax`: the text does not parse (one issue, no request made);
 * - `invalid` / `valid`: the server's verdict;
 * - `failed`: the server could not answer (`error`).
 */
export type CheckPhase =
  'pending' | 'checking' | 'syntax' | 'invalid' | 'valid' | 'failed';

export interface ICheckSnapshot {
  phase: CheckPhase;
  /** The issues of the last finished check, by line. */
  issues: IIssueAt[];
  /** The definition of the last text read (null when it did not parse). */
  definition: IDefinition | null;
  /** Why the server could not validate (phase `failed`). */
  error: unknown;
  /** The last good drawing (SVG text), kept while the text is invalid. */
  svg: string | null;
  /** Whether `svg` is the drawing of the current definition. */
  svgCurrent: boolean;
  /** Why the last drawing failed, if it did. */
  graphError: unknown;
}

export const INITIAL_CHECK: ICheckSnapshot = {
  phase: 'pending',
  issues: [],
  definition: null,
  error: null,
  svg: null,
  svgCurrent: false,
  graphError: null
};

export const CHECK_DELAY_MS = 300;

/** The server's issues placed in `text`, sorted by line (a text that does not parse: line 1). */
export function placeIssues(
  text: string,
  format: TextFormat,
  issues: readonly IValidationIssue[]
): IIssueAt[] {
  const root = sourceTree(text, format);
  return issues
    .map(issue => {
      const at = root
        ? locate(text, root, issue.path)
        : { line: 1, from: 0, to: 0, exact: false };
      return {
        line: at.line,
        from: at.from,
        to: at.to,
        exact: at.exact,
        message: issue.message,
        code: issue.code,
        path: issue.path
      };
    })
    .sort((a, b) => a.line - b.line || a.from - b.from);
}

export interface ILiveCheckOptions {
  client: WorkscriptClient;
  trans: TranslationBundle;
  onChange: (snapshot: ICheckSnapshot) => void;
  delayMs?: number;
}

/** The debounced, stale-answer-proof check of one editor's text. */
export class LiveCheck {
  constructor(options: ILiveCheckOptions) {
    this._client = options.client;
    this._trans = options.trans;
    this._onChange = options.onChange;
    this._delayMs = options.delayMs ?? CHECK_DELAY_MS;
  }

  get snapshot(): ICheckSnapshot {
    return this._snapshot;
  }

  /** The text changed: check it after the pause (an earlier pending check is dropped). */
  update(text: string, format: TextFormat): void {
    if (this._disposed) {
      return;
    }
    this._generation++;
    this._text = text;
    this._format = format;
    this._clearTimer();
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._check(this._generation);
    }, this._delayMs);
    if (this._snapshot.phase !== 'pending') {
      this._set({ phase: 'pending' });
    }
  }

  /** Check the latest text now (no pause); resolves when its answers are in. */
  async checkNow(): Promise<void> {
    if (this._disposed || this._text === null) {
      return;
    }
    this._clearTimer();
    await this._check(++this._generation);
  }

  /**
   * Show issues the server gave elsewhere (a refused save) for the current text; they stand
   * until the text changes.
   */
  showIssues(text: string, issues: readonly IValidationIssue[]): void {
    if (this._disposed || text !== this._text) {
      return;
    }
    this._generation++;
    this._clearTimer();
    const parsed = parseText(text, this._format, this._trans);
    if (parsed.ok) {
      this._validated = {
        canonical: canonical(parsed.definition),
        issues: [...issues]
      };
    }
    this._set({
      phase: issues.length ? 'invalid' : 'valid',
      issues: placeIssues(text, this._format, issues),
      error: null
    });
  }

  dispose(): void {
    this._disposed = true;
    this._clearTimer();
  }

  private async _check(generation: number): Promise<void> {
    const text = this._text;
    const format = this._format;
    if (text === null) {
      return;
    }
    const parsed = parseText(text, format, this._trans);
    if (!parsed.ok) {
      const { problem } = parsed;
      this._set({
        phase: 'syntax',
        definition: null,
        error: null,
        svgCurrent: false,
        issues: [
          {
            ...problem,
            code: 'SYNTAX_ERROR',
            path: null,
            exact: true
          }
        ]
      });
      return;
    }
    const definition = parsed.definition;
    const key = canonical(definition);
    let issues: IValidationIssue[];
    if (this._validated?.canonical === key) {
      issues = this._validated.issues;
    } else {
      this._set({ phase: 'checking', definition });
      try {
        issues = (await this._client.validateWorkflow(definition)).errors ?? [];
      } catch (error) {
        if (generation === this._generation && !this._disposed) {
          this._set({ phase: 'failed', error, issues: [] });
        }
        return;
      }
      if (generation !== this._generation || this._disposed) {
        return; // the text changed while the server was thinking
      }
      this._validated = { canonical: key, issues };
    }
    const placed = placeIssues(text, format, issues);
    if (issues.length > 0) {
      this._set({
        phase: 'invalid',
        definition,
        issues: placed,
        error: null,
        svgCurrent: false
      });
      return;
    }
    const drawn = this._drawn?.canonical === key;
    this._set({
      phase: 'valid',
      definition,
      issues: [],
      error: null,
      svgCurrent: drawn,
      svg: drawn ? (this._drawn?.svg ?? null) : this._snapshot.svg
    });
    if (drawn) {
      return;
    }
    try {
      const svg = await this._client.definitionGraph(
        definition,
        currentGraphTheme()
      );
      if (generation !== this._generation || this._disposed) {
        return;
      }
      this._drawn = { canonical: key, svg };
      this._set({ svg, svgCurrent: true, graphError: null });
    } catch (graphError) {
      if (generation === this._generation && !this._disposed) {
        this._set({ graphError, svgCurrent: false });
      }
    }
  }

  private _set(change: Partial<ICheckSnapshot>): void {
    this._snapshot = { ...this._snapshot, ...change };
    this._onChange(this._snapshot);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private readonly _client: WorkscriptClient;
  private readonly _trans: TranslationBundle;
  private readonly _onChange: (snapshot: ICheckSnapshot) => void;
  private readonly _delayMs: number;
  private _snapshot: ICheckSnapshot = INITIAL_CHECK;
  private _text: string | null = null;
  private _format: TextFormat = 'json';
  private _generation = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _validated: { canonical: string; issues: IValidationIssue[] } | null =
    null;
  private _drawn: { canonical: string; svg: string } | null = null;
  private _disposed = false;
}
