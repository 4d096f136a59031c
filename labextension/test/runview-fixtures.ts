/**
 * What the run view tests share: a scripted Workscript server (routes over a fake fetch, as
 * Jupyter's ServerConnection calls it), a run record, and a way to let pending requests end.
 */
import { Answer, fakeFetch, IRecordedRequest } from './fakes';

const realSetImmediate = setImmediate;
/** Let pending fetches and their promise chains complete (real macrotasks, fake clock). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise(resolve => realSetImmediate(resolve));
  }
}

export const T0 = Date.parse('2026-03-01T10:00:00.000Z');

export function execution(status: string, extra: Record<string, unknown> = {}) {
  return {
    id: 'e1',
    workflowId: 'w1',
    automationId: null,
    ownerId: 'u1',
    status,
    trigger: 'manual',
    error: null,
    nodeRuns: 0,
    attempt: 1,
    createdAt: new Date(T0).toISOString(),
    startedAt: new Date(T0).toISOString(),
    endedAt: null,
    durationMs: null,
    initialState: { a: 1 },
    finalState: null,
    timeline: [],
    ...extra
  };
}

export const storedTimeline = [
  {
    path: 'workflow.0',
    type: 'log',
    edge: 'success',
    startedAt: new Date(T0).toISOString(),
    durationMs: 3,
    error: null
  }
];

/** The server: a route table over the request's method and path. */
export function server() {
  const state = {
    run: execution('running') as Record<string, unknown>,
    timeline: [] as unknown[],
    down: false,
    answers: {} as Record<string, Answer>
  };
  const { fetch, requests } = fakeFetch((request: IRecordedRequest) => {
    if (state.down) {
      return new TypeError('Failed to fetch');
    }
    const path = new URL(request.url).pathname.replace(
      '/user/ana/workscript/',
      ''
    );
    const key = `${request.method} ${path}`;
    if (key in state.answers) {
      return state.answers[key];
    }
    switch (key) {
      case 'GET executions/e1':
        return { status: 200, body: state.run };
      case 'GET executions/e1/timeline':
        return {
          status: 200,
          body: { executionId: 'e1', timeline: state.timeline }
        };
      case 'GET workflows/w1':
        return { status: 200, body: { id: 'w1', name: 'Daily report' } };
      case 'POST executions/e1/cancel':
        state.run = execution('cancelled', {
          error: { code: 'CANCELLED', message: 'the run was cancelled' }
        });
        return { status: 200, body: state.run };
      case 'POST executions/e1/rerun':
        return { status: 202, body: { ...execution('queued'), id: 'e2' } };
      default:
        return {
          status: 404,
          body: { error: { code: 'NOT_FOUND', message: `no ${key}` } }
        };
    }
  });
  const count = (key: string) =>
    requests.filter(
      r =>
        `${r.method} ${new URL(r.url).pathname.replace('/user/ana/workscript/', '')}` ===
        key
    ).length;
  return { state, fetch, requests, count };
}
