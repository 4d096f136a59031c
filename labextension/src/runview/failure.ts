/**
 * Finding what a run knows about a notebook it executed: the executed copy's path (to open it)
 * and, when the notebook failed, the failing cell, its exception and its traceback.
 *
 * The server leaves this in a few places, by the route the failure took
 * (workscript_jupyter/nodes/notebook.py, runner/gateway.py, service/execute.py):
 * - `error.report`: a run that failed on a `notebook` step carries the step's report
 *   `{status, executedPath, path, error: {kind, message, cellIndex, sourceHead, ename, evalue,
 *   traceback}, ...}`;
 * - `error` itself, when it is a step's error-edge payload `{error|message, path, executedPath,
 *   cellIndex, ename, evalue, traceback}` (the same fields, flat), or a `python` step's
 *   `{ename, evalue, traceback}`;
 * - `finalState.notebookResult`: the last notebook step's report, also when a handler took
 *   its error edge and the run went on (or when it completed);
 * - a top-level value of the final state that is such a payload (a handler that kept it).
 * Pure: no React, no I/O.
 */

/** What the run view shows about a notebook. */
export interface INotebookFailure {
  /** Where it was found, for the curious and the tests. */
  source: string;
  /** The notebook run (relative to the server's root), when known. */
  path: string | null;
  /** The executed copy, when one was written. */
  executedPath: string | null;
  /** Whether `executedPath` can be opened in Lab (relative to the root, no `..`). */
  openable: boolean;
  /** False for a notebook that completed (only its executed copy is of interest). */
  failed: boolean;
  kind: string | null;
  message: string | null;
  cellIndex: number | null;
  sourceHead: string | null;
  ename: string | null;
  evalue: string | null;
  /** ANSI colour codes removed. */
  traceback: string | null;
  /** The workflow node that ran it, when the run's error names it. */
  nodePath: string | null;
}

// CSI sequences (colours, cursor moves) and OSC sequences (titles, links) of a terminal
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

/** `text` without its ANSI escape sequences (a kernel's tracebacks are coloured). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function int(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
    ? value
    : null;
}

/** A traceback as the kernel gives it (a list of lines) or as a report keeps it (text). */
function tracebackText(value: unknown): string | null {
  if (Array.isArray(value)) {
    const lines = value.filter((l): l is string => typeof l === 'string');
    return lines.length ? stripAnsi(lines.join('\n')) : null;
  }
  const text = str(value);
  return text === null ? null : stripAnsi(text);
}

/** Whether Lab's document manager can open `path`: relative to the root, without `..`. */
export function isOpenablePath(path: string | null): boolean {
  if (path === null || path.trim() === '' || path.includes('\0')) {
    return false;
  }
  if (path.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(path)) {
    return false;
  }
  return !path.split(/[\\/]/).includes('..');
}

/** The notebook facts of one candidate object (a report or an error-edge payload), or null
 * when it has none of them. */
function fromCandidate(
  candidate: Record<string, unknown>,
  source: string
): INotebookFailure | null {
  // a report nests its failure in `error`; a payload is flat, with `error` the message
  const nested = isObject(candidate.error) ? candidate.error : null;
  const pick = (name: string, snake?: string): unknown =>
    nested?.[name] ??
    (snake ? nested?.[snake] : undefined) ??
    candidate[name] ??
    (snake ? candidate[snake] : undefined);
  const executedPath = str(candidate.executedPath ?? candidate.executed_path);
  const traceback = tracebackText(pick('traceback'));
  const ename = str(pick('ename'));
  const evalue =
    typeof pick('evalue') === 'string'
      ? stripAnsi(pick('evalue') as string)
      : null;
  if (executedPath === null && traceback === null && ename === null) {
    return null;
  }
  const status = str(candidate.status);
  const failed =
    nested !== null ||
    traceback !== null ||
    ename !== null ||
    (status !== null && status !== 'completed');
  const message =
    str(nested?.message) ??
    str(candidate.message) ??
    (typeof candidate.error === 'string' ? candidate.error : null);
  return {
    source,
    path: str(candidate.path),
    executedPath,
    openable: isOpenablePath(executedPath),
    failed,
    kind: str(pick('kind')),
    message,
    cellIndex: int(pick('cellIndex', 'cell_index')),
    sourceHead: str(pick('sourceHead', 'source_head')),
    ename,
    evalue: evalue === '' ? null : evalue,
    traceback,
    nodePath: null
  };
}

/** Fill the gaps of `first` from `second` (two views of the same notebook run). */
function merge(
  first: INotebookFailure,
  second: INotebookFailure | null
): INotebookFailure {
  if (second === null) {
    return first;
  }
  const out = { ...first };
  for (const key of Object.keys(out) as (keyof INotebookFailure)[]) {
    if (out[key] === null && second[key] !== null) {
      (out as any)[key] = second[key];
    }
  }
  out.failed = first.failed || second.failed;
  out.openable = isOpenablePath(out.executedPath);
  return out;
}

/**
 * The notebook facts of a run, or null when it ran no notebook (or left no trace of one).
 * Takes the run's `error` and `finalState` as the server sent them (anything: they are checked).
 */
export function findNotebookFailure(run: {
  error?: unknown;
  finalState?: unknown;
}): INotebookFailure | null {
  const error = isObject(run.error) ? run.error : null;
  const state = isObject(run.finalState) ? run.finalState : null;
  const candidates: INotebookFailure[] = [];
  if (error !== null && isObject(error.report)) {
    const found = fromCandidate(error.report, 'error.report');
    if (found) {
      candidates.push(found);
    }
  }
  if (error !== null) {
    const found = fromCandidate(error, 'error');
    if (found) {
      candidates.push(found);
    }
  }
  if (state !== null && isObject(state.notebookResult)) {
    const found = fromCandidate(
      state.notebookResult,
      'finalState.notebookResult'
    );
    if (found) {
      candidates.push(found);
    }
  }
  if (state !== null && candidates.length === 0) {
    for (const [key, value] of Object.entries(state)) {
      if (key === 'notebookResult' || !isObject(value)) {
        continue;
      }
      const found = fromCandidate(value, `finalState.${key}`);
      if (found && (found.executedPath !== null || found.traceback !== null)) {
        candidates.push(found);
        break;
      }
    }
  }
  if (candidates.length === 0) {
    return null;
  }
  // the first is the most specific; the others (the same run, seen elsewhere) fill its gaps,
  // but only when they are about the same notebook
  let result = candidates[0];
  for (const other of candidates.slice(1)) {
    const sameNotebook =
      result.path === null || other.path === null || result.path === other.path;
    if (sameNotebook) {
      result = merge(result, other);
    }
  }
  if (error !== null) {
    // the run's error names the node only when it is about this notebook
    const nodePath = str(error.nodePath);
    const about =
      error.nodeType === 'notebook' || candidates[0].source.startsWith('error');
    if (nodePath !== null && about) {
      result = { ...result, nodePath };
    }
  }
  return result;
}
