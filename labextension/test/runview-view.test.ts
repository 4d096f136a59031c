// @vitest-environment jsdom
// The run view drawn by React in jsdom, over the real model, REST client and WebSocket client
// (a scripted server behind them) and Lumino's real command registry.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as React from 'react';
import { CommandRegistry } from '@lumino/commands';
import { nullTranslator } from '@jupyterlab/translation';
import { WorkscriptClient } from '../src/api';
import { CommandIds } from '../src/context';
import { WorkscriptSocket } from '../src/socket';
import { RunModel } from '../src/runview/model';
import { RunView } from '../src/runview/RunView';
import { FakeSocket, settingsWith } from './fakes';
import { execution, server, storedTimeline, T0 } from './runview-fixtures';

// react-dom ships no types here; it is Lab's own copy, loaded as Lab loads it
const reactDomClient = 'react-dom/client';

let root: { render(el: unknown): void; unmount(): void } | null = null;
let host: HTMLElement;
let model: RunModel | null = null;

beforeEach(() => {
  FakeSocket.instances = [];
  (globalThis as any).IS_REACT_ACT_ENVIRONMENT = false;
  host = document.createElement('div');
  document.body.appendChild(host);
});

afterEach(() => {
  root?.unmount();
  root = null;
  model?.dispose();
  model = null;
  host.remove();
});

async function mount(
  configure: (srv: ReturnType<typeof server>) => void = () => undefined,
  gate: Promise<void> = Promise.resolve()
) {
  const srv = server();
  configure(srv);
  // every request waits for `gate`: a test can look at the view while it loads
  const settings = settingsWith(async (request: Request) => {
    await gate;
    return srv.fetch(request);
  });
  const client = new WorkscriptClient(settings);
  const socket = new WorkscriptSocket({
    settings,
    WebSocket: FakeSocket,
    pingIntervalMs: 0
  });
  const commands = new CommandRegistry();
  const executed: [string, unknown][] = [];
  const record = (id: string) =>
    commands.addCommand(id, {
      execute: args => {
        executed.push([id, args]);
      }
    });
  const ctx = {
    app: { commands } as any,
    trans: nullTranslator.load('workscript_jupyter')
  };
  model = new RunModel({
    client,
    socket,
    executionId: 'e1',
    openRun: id => commands.execute(CommandIds.openRun, { id }),
    pollMs: 60_000
  });
  const { createRoot } = (await import(
    /* @vite-ignore */ reactDomClient
  )) as any;
  root = createRoot(host);
  root!.render(React.createElement(RunView, { model, ctx }));
  void model.start();
  return { srv, commands, executed, record, model };
}

const q = (testId: string) =>
  host.querySelector(`[data-testid="${testId}"]`) as HTMLElement | null;

const failedNotebookRun = () =>
  execution('failed', {
    nodeRuns: 2,
    durationMs: 812,
    error: {
      code: 'UNHANDLED_ERROR_EDGE',
      message: 'cell 2 raised ValueError: bad region',
      nodePath: 'workflow.1',
      nodeType: 'notebook',
      report: {
        status: 'failed',
        path: 'notebooks/report.ipynb',
        executedPath: 'runs/e1/report.ipynb',
        error: {
          kind: 'cell_error',
          message: 'cell 2 raised ValueError: bad region',
          cellIndex: 2,
          ename: 'ValueError',
          evalue: 'bad region',
          traceback: '\u001b[0;31mValueError\u001b[0m: bad region'
        }
      }
    },
    finalState: {
      region: 'north',
      nested: { deep: { deeper: 1 } },
      items: Array.from({ length: 150 }, (_, i) => i),
      text: 'z'.repeat(400)
    }
  });

describe('RunView', () => {
  it('shows loading, then the header of the run', async () => {
    let open = () => undefined as void;
    const gate = new Promise<void>(resolve => (open = resolve));
    await mount(srv => {
      srv.state.run = execution('completed', { nodeRuns: 1, durationMs: 3 });
      srv.state.timeline = storedTimeline;
    }, gate);
    await vi.waitFor(() =>
      expect(q('workscript-run-loading')?.textContent).toContain(
        'Loading run e1'
      )
    );
    expect(q('workscript-run-loading')!.getAttribute('role')).toBe('status');
    open();
    await vi.waitFor(() => expect(q('workscript-run-status')).not.toBeNull());
    const status = q('workscript-run-status')!;
    expect(status.textContent).toBe('completed');
    expect(status.className).toContain('jp-Workscript-status-completed');
    await vi.waitFor(() =>
      expect(host.querySelector('.jp-Workscript-runName')?.textContent).toBe(
        'Daily report'
      )
    );
    const facts = host.querySelector('.jp-Workscript-runFacts')!.textContent!;
    expect(facts).toContain('manual');
    expect(facts).toContain('3 ms');
    // final: no cancel, a rerun
    expect(q('workscript-run-cancel')).toBeNull();
    expect(q('workscript-run-rerun')).not.toBeNull();
    expect(q('workscript-run-error')).toBeNull();
  });

  it('draws the timeline as bars with their labels, errored ones marked', async () => {
    await mount(srv => {
      srv.state.run = execution('failed');
      srv.state.timeline = [
        ...storedTimeline,
        {
          path: 'workflow.1',
          type: 'http',
          edge: 'error',
          startedAt: new Date(T0 + 3).toISOString(),
          durationMs: 7,
          error: 'timeout'
        }
      ];
    });
    await vi.waitFor(() =>
      expect(host.querySelectorAll('.jp-Workscript-ganttBar')).toHaveLength(2)
    );
    const bars = [...host.querySelectorAll('.jp-Workscript-ganttBar')];
    expect(bars.map(b => b.getAttribute('aria-label'))).toEqual([
      'workflow.0 · log · 3 ms',
      'workflow.1 · http · 7 ms'
    ]);
    expect(bars[1].className).toContain('jp-Workscript-ganttBar-failed');
    expect(bars[0].className).not.toContain('failed');
    expect(parseFloat((bars[1] as HTMLElement).style.left)).toBe(30);
    expect(parseFloat((bars[1] as HTMLElement).style.width)).toBe(70);
    expect(bars[1].getAttribute('title')).toContain('error: timeout');
    expect(q('workscript-run-timeline')!.textContent).toContain('1 failed');
  });

  it('shows the error, the notebook failure and opens the executed notebook', async () => {
    const { record, executed } = await mount(srv => {
      srv.state.run = failedNotebookRun();
    });
    await vi.waitFor(() => expect(q('workscript-run-error')).not.toBeNull());
    const error = q('workscript-run-error')!.textContent!;
    expect(error).toContain('UNHANDLED_ERROR_EDGE');
    expect(error).toContain('cell 2 raised ValueError: bad region');
    expect(error).toContain('workflow.1');
    expect(error).toContain('notebook');
    const traceback = q('workscript-run-traceback')!;
    expect(traceback.tagName).toBe('PRE');
    expect(traceback.textContent).toBe('ValueError: bad region');
    expect(q('workscript-run-notebook')!.textContent).toContain(
      'notebooks/report.ipynb'
    );

    // no document manager in this front end: the click says so
    q('workscript-run-open-notebook')!.click();
    await vi.waitFor(() =>
      expect(q('workscript-run-notebook')!.textContent).toContain(
        'The notebook could not be opened'
      )
    );
    record('docmanager:open');
    q('workscript-run-open-notebook')!.click();
    await vi.waitFor(() =>
      expect(executed).toEqual([
        ['docmanager:open', { path: 'runs/e1/report.ipynb' }]
      ])
    );
  });

  it('shows the final state expanded one level, the rest collapsed and toggled by keyboard', async () => {
    await mount(srv => {
      srv.state.run = failedNotebookRun();
    });
    await vi.waitFor(() => expect(q('workscript-run-state')).not.toBeNull());
    const tree = q('workscript-run-state')!;
    const toggles = () =>
      [
        ...tree.querySelectorAll('button.jp-Workscript-jsonToggle')
      ] as HTMLButtonElement[];
    // root expanded; nested (error report not in finalState), items collapsed
    expect(toggles()[0].getAttribute('aria-expanded')).toBe('true');
    const nested = toggles().find(b => b.textContent!.startsWith('▸nested'))!;
    expect(nested.getAttribute('aria-expanded')).toBe('false');
    nested.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true })
    );
    await vi.waitFor(() =>
      expect(nested.getAttribute('aria-expanded')).toBe('true')
    );
    expect(tree.textContent).toContain('deep');
    nested.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true })
    );
    await vi.waitFor(() =>
      expect(nested.getAttribute('aria-expanded')).toBe('false')
    );

    // a big array: 100 children, then "show more"
    const items = toggles().find(b => b.textContent!.includes('items'))!;
    expect(items.textContent).toContain('[150 items]');
    items.click();
    await vi.waitFor(() =>
      expect(tree.querySelector('.jp-Workscript-jsonMore')).not.toBeNull()
    );
    const more = tree.querySelector(
      '.jp-Workscript-jsonMore'
    ) as HTMLButtonElement;
    expect(more.textContent).toBe('Show 50 more (100 of 150 shown)');
    more.click();
    await vi.waitFor(() =>
      expect(tree.querySelector('.jp-Workscript-jsonMore')).toBeNull()
    );

    // a long string: cut, its full text in the title
    const long = [...tree.querySelectorAll('.jp-Workscript-json-string')].find(
      s => s.getAttribute('title') === 'z'.repeat(400)
    );
    expect(long).toBeDefined();
    expect(long!.textContent!.length).toBeLessThan(400);

    // the initial state starts collapsed
    const initial = q('workscript-run-initial-state')!;
    expect(
      initial
        .querySelector('button.jp-Workscript-jsonToggle')!
        .getAttribute('aria-expanded')
    ).toBe('false');
  });

  it('cancels a running run and reruns it into a new tab', async () => {
    const { srv, record, executed } = await mount();
    await vi.waitFor(() => expect(q('workscript-run-cancel')).not.toBeNull());
    q('workscript-run-cancel')!.click();
    await vi.waitFor(() =>
      expect(q('workscript-run-status')!.textContent).toBe('cancelled')
    );
    expect(srv.count('POST executions/e1/cancel')).toBe(1);
    expect(q('workscript-run-cancel')).toBeNull();

    // no run view command registered: the new run's id is said, with the reason
    q('workscript-run-rerun')!.click();
    await vi.waitFor(() =>
      expect(q('workscript-run-action-error')).not.toBeNull()
    );
    expect(q('workscript-run-action-error')!.textContent).toContain(
      'Run e2 was started'
    );
    record(CommandIds.openRun);
    q('workscript-run-rerun')!.click();
    await vi.waitFor(() =>
      expect(executed).toEqual([[CommandIds.openRun, { id: 'e2' }]])
    );
    await vi.waitFor(() => expect(q('workscript-run-action-error')).toBeNull());
  });

  it('shows a refused cancel inline', async () => {
    await mount(srv => {
      srv.state.answers['POST executions/e1/cancel'] = {
        status: 422,
        body: {
          error: {
            code: 'NOT_CANCELLABLE',
            message: 'the run has already ended'
          }
        }
      };
    });
    await vi.waitFor(() => expect(q('workscript-run-cancel')).not.toBeNull());
    q('workscript-run-cancel')!.click();
    await vi.waitFor(() =>
      expect(q('workscript-run-action-error')?.textContent).toBe(
        'the run has already ended'
      )
    );
  });

  it('says a run is not found', async () => {
    await mount(srv => {
      srv.state.answers['GET executions/e1'] = {
        status: 404,
        body: { error: { code: 'NOT_FOUND', message: 'no such run' } }
      };
    });
    await vi.waitFor(() =>
      expect(q('workscript-run-not-found')).not.toBeNull()
    );
    expect(q('workscript-run-not-found')!.textContent).toContain(
      'it was deleted, or it is not yours'
    );
  });

  it('says the server is down and retries on demand', async () => {
    const { srv } = await mount(s => {
      s.state.down = true;
    });
    await vi.waitFor(() =>
      expect(q('workscript-run-load-error')).not.toBeNull()
    );
    expect(q('workscript-run-load-error')!.textContent).toContain(
      'The Jupyter server cannot be reached.'
    );
    srv.state.down = false;
    q('workscript-run-retry')!.click();
    await vi.waitFor(() =>
      expect(q('workscript-run-status')?.textContent).toBe('running')
    );
  });

  it('draws the live timeline of a running run from its node events', async () => {
    await mount();
    await vi.waitFor(() => expect(q('workscript-run-timeline')).not.toBeNull());
    await vi.waitFor(() =>
      expect(q('workscript-run-timeline')!.textContent).toContain(
        'Waiting for the first node'
      )
    );
    FakeSocket.last().open();
    FakeSocket.last().receive({
      type: 'node:started',
      payload: {
        executionId: 'e1',
        nodePath: 'workflow.0',
        nodeType: 'notebook'
      },
      timestamp: Date.now()
    });
    await vi.waitFor(() =>
      expect(
        host.querySelectorAll('.jp-Workscript-ganttBar-running')
      ).toHaveLength(1)
    );
    expect(q('workscript-run-timeline')!.textContent).toContain(
      'live, approximate'
    );
    expect(
      host.querySelector('.jp-Workscript-ganttBar')!.getAttribute('aria-label')
    ).toBe('workflow.0 · notebook · running');
  });
});
