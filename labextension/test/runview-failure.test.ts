import { describe, expect, it } from 'vitest';
import {
  findNotebookFailure,
  isOpenablePath,
  stripAnsi
} from '../src/runview/failure';

// the report a failed notebook step leaves (runner/gateway.py `_report`, nodes/notebook.py)
const report = {
  status: 'failed',
  outputs: {},
  executedPath: '.workscript/runs/e1/report.ipynb',
  cellsDone: 2,
  cellsTotal: 5,
  durationMs: 812,
  kernel: 'python3',
  warnings: [],
  error: {
    kind: 'cell_error',
    message: 'cell 2 raised ValueError: bad region',
    cellIndex: 2,
    sourceHead: "raise ValueError('bad region')",
    ename: 'ValueError',
    evalue: 'bad region',
    traceback:
      '\u001b[0;31mValueError\u001b[0m Traceback (most recent call last)\nValueError: bad region'
  },
  path: 'notebooks/report.ipynb'
};

describe('findNotebookFailure', () => {
  it('reads the report a failed notebook step puts in the run error', () => {
    const found = findNotebookFailure({
      error: {
        code: 'UNHANDLED_ERROR_EDGE',
        message: 'cell 2 raised ValueError: bad region',
        nodePath: 'workflow.1',
        nodeType: 'notebook',
        report
      },
      finalState: { notebookResult: report }
    });
    expect(found).toEqual({
      source: 'error.report',
      path: 'notebooks/report.ipynb',
      executedPath: '.workscript/runs/e1/report.ipynb',
      openable: true,
      failed: true,
      kind: 'cell_error',
      message: 'cell 2 raised ValueError: bad region',
      cellIndex: 2,
      sourceHead: "raise ValueError('bad region')",
      ename: 'ValueError',
      evalue: 'bad region',
      traceback:
        'ValueError Traceback (most recent call last)\nValueError: bad region',
      nodePath: 'workflow.1'
    });
  });

  it('reads finalState.notebookResult when the run went on (a handler took the error edge)', () => {
    const found = findNotebookFailure({
      error: null,
      finalState: { notebookResult: report, handled: true }
    });
    expect(found?.source).toBe('finalState.notebookResult');
    expect(found?.failed).toBe(true);
    expect(found?.cellIndex).toBe(2);
    expect(found?.nodePath).toBeNull();
  });

  it('offers the executed copy of a notebook that completed, not as a failure', () => {
    const found = findNotebookFailure({
      error: null,
      finalState: {
        notebookResult: {
          status: 'completed',
          executedPath: 'out/report.ipynb',
          error: null,
          path: 'report.ipynb'
        }
      }
    });
    expect(found).toMatchObject({
      failed: false,
      executedPath: 'out/report.ipynb',
      openable: true,
      traceback: null
    });
  });

  it('reads a flat error-edge payload (path, executedPath, cellIndex, list traceback)', () => {
    const found = findNotebookFailure({
      error: {
        code: 'X',
        message: 'cell 0 raised KeyError',
        error: 'cell 0 raised KeyError',
        path: 'a.ipynb',
        executedPath: 'runs/a.ipynb',
        cell_index: 0,
        ename: 'KeyError',
        evalue: "'x'",
        traceback: ['\u001b[31mKeyError\u001b[0m', "KeyError: 'x'"]
      },
      finalState: null
    });
    expect(found).toMatchObject({
      source: 'error',
      cellIndex: 0,
      traceback: "KeyError\nKeyError: 'x'",
      executedPath: 'runs/a.ipynb'
    });
  });

  it('finds a payload a handler kept in the final state', () => {
    const found = findNotebookFailure({
      error: null,
      finalState: {
        count: 3,
        lastFailure: {
          error: 'the kernel died',
          path: 'x.ipynb',
          executedPath: 'runs/x.ipynb',
          kind: 'kernel_died'
        }
      }
    });
    expect(found).toMatchObject({
      source: 'finalState.lastFailure',
      kind: 'kernel_died',
      message: 'the kernel died'
    });
  });

  it('fills gaps from a second place only for the same notebook', () => {
    const other = {
      ...report,
      path: 'other.ipynb',
      executedPath: 'runs/other.ipynb'
    };
    const found = findNotebookFailure({
      error: {
        code: 'E',
        message: 'boom',
        ename: 'RuntimeError',
        path: 'mine.ipynb'
      },
      finalState: { notebookResult: other }
    });
    expect(found?.path).toBe('mine.ipynb');
    expect(found?.executedPath).toBeNull();
    expect(found?.openable).toBe(false);
  });

  it('names the node only when the run error is about the notebook', () => {
    const found = findNotebookFailure({
      error: {
        code: 'NODE_ERROR',
        message: 'the upload failed',
        nodePath: 'workflow.5',
        nodeType: 'http'
      },
      finalState: { notebookResult: report }
    });
    expect(found?.source).toBe('finalState.notebookResult');
    expect(found?.nodePath).toBeNull();
  });

  it('finds nothing in a run that ran no notebook, or in odd input', () => {
    expect(
      findNotebookFailure({
        error: { code: 'NODE_ERROR', message: 'x', nodePath: 'workflow.0' },
        finalState: { a: 1, b: { c: 2 } }
      })
    ).toBeNull();
    expect(findNotebookFailure({})).toBeNull();
    expect(
      findNotebookFailure({ error: 'text', finalState: [1, 2] as any })
    ).toBeNull();
    expect(
      findNotebookFailure({ finalState: { notebookResult: 'not an object' } })
    ).toBeNull();
  });

  it('does not offer to open an executed copy outside the root', () => {
    const found = findNotebookFailure({
      finalState: {
        notebookResult: { status: 'failed', executedPath: '/tmp/x.ipynb' }
      }
    });
    expect(found?.executedPath).toBe('/tmp/x.ipynb');
    expect(found?.openable).toBe(false);
  });
});

describe('isOpenablePath', () => {
  it('accepts relative paths inside the root only', () => {
    expect(isOpenablePath('a/b.ipynb')).toBe(true);
    expect(isOpenablePath('/abs.ipynb')).toBe(false);
    expect(isOpenablePath('C:\\x.ipynb')).toBe(false);
    expect(isOpenablePath('a/../../b.ipynb')).toBe(false);
    expect(isOpenablePath('')).toBe(false);
    expect(isOpenablePath(null)).toBe(false);
  });
});

describe('stripAnsi', () => {
  it('removes colours and OSC sequences, keeps the text', () => {
    expect(stripAnsi('\u001b[0;31mError\u001b[0m: \u001b[1mx\u001b[22m')).toBe(
      'Error: x'
    );
    expect(stripAnsi('\u001b]8;;http://x\u0007link\u001b]8;;\u0007')).toBe(
      'link'
    );
    expect(stripAnsi('plain')).toBe('plain');
  });
});
