import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IValidationIssue } from '../src/api';
import { serialize } from '../src/editor/document';
import {
  ICheckSnapshot,
  LiveCheck,
  placeIssues
} from '../src/editor/validation';
import {
  deferred,
  errorBody,
  Handler,
  IServerAnswer,
  scriptedServer,
  SVG,
  trans
} from './editor-server';

const VALID = {
  id: 'w',
  name: 'W',
  version: '1.0.0',
  workflow: [{ log: { message: 'hello' } }]
};
const NO_NAME = { ...VALID, name: '' };
const NAME_ISSUE: IValidationIssue = {
  path: '/name',
  message: 'name cannot be empty',
  code: 'SCHEMA_VALIDATION_ERROR'
};

/** Answers validate from the definition (empty name: one issue) and graph with SVG. */
const server: Handler = request => {
  if (request.path === 'workflows/validate') {
    const bad = request.body.definition.name === '';
    return {
      status: 200,
      body: { valid: !bad, errors: bad ? [NAME_ISSUE] : [] }
    };
  }
  if (request.path === 'workflows/graph') {
    return { status: 200, body: SVG, contentType: 'image/svg+xml' };
  }
  return { status: 404, body: errorBody('NOT_FOUND', 'no route') };
};

/** Lets the scripted server's answers (real promises) come through. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise(resolve => setImmediate(resolve));
  }
}

function make(handler: Handler = server) {
  const { client, requests } = scriptedServer(handler);
  const seen: ICheckSnapshot[] = [];
  const check = new LiveCheck({
    client,
    trans,
    onChange: snapshot => seen.push(snapshot)
  });
  return { check, requests, seen, last: () => check.snapshot };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('LiveCheck', () => {
  it('waits for a pause in typing and checks only the last text', async () => {
    const { check, requests, last } = make();
    check.update('{"id": ', 'json');
    vi.advanceTimersByTime(200);
    check.update(serialize(NO_NAME, 'json'), 'json');
    vi.advanceTimersByTime(200);
    check.update(serialize(VALID, 'json'), 'json');
    expect(last().phase).toBe('pending');
    vi.advanceTimersByTime(299);
    await settle();
    expect(requests).toHaveLength(0);
    vi.advanceTimersByTime(1);
    await settle();
    expect(requests.map(r => r.path)).toEqual([
      'workflows/validate',
      'workflows/graph'
    ]);
    expect(requests[0].body).toEqual({ definition: VALID });
    expect(last()).toMatchObject({
      phase: 'valid',
      issues: [],
      svg: SVG,
      svgCurrent: true
    });
  });

  it('reports a syntax error at its line without asking the server', async () => {
    const { check, requests, last } = make();
    check.update('{\n  "id": "w",\n  "name": \n}', 'json');
    vi.advanceTimersByTime(300);
    await settle();
    expect(requests).toHaveLength(0);
    expect(last().phase).toBe('syntax');
    expect(last().issues).toEqual([
      expect.objectContaining({ line: 4, code: 'SYNTAX_ERROR', path: null })
    ]);
    check.update('id: [w\nname: x', 'yaml');
    vi.advanceTimersByTime(300);
    await settle();
    expect(requests).toHaveLength(0);
    expect(last().issues[0].line).toBe(2);
  });

  it("places the server's issues at their lines and keeps the last drawing", async () => {
    const { check, requests, last } = make();
    check.update(serialize(VALID, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    expect(last().svg).toBe(SVG);
    const text = serialize(NO_NAME, 'yaml');
    check.update(text, 'yaml');
    vi.advanceTimersByTime(300);
    await settle();
    expect(last()).toMatchObject({
      phase: 'invalid',
      svg: SVG,
      svgCurrent: false
    });
    expect(last().issues).toEqual([
      expect.objectContaining({
        line: text.split('\n').findIndex(l => l.startsWith('name:')) + 1,
        message: 'name cannot be empty',
        path: '/name',
        exact: true
      })
    ]);
    // an invalid definition is not drawn
    expect(requests.filter(r => r.path === 'workflows/graph')).toHaveLength(1);
  });

  it('drops an answer about a text that changed since', async () => {
    const held = deferred<IServerAnswer>();
    let calls = 0;
    const { check, requests, last } = make(request => {
      if (request.path === 'workflows/validate' && calls++ === 0) {
        return held.promise; // the first answer comes late
      }
      return server(request);
    });
    check.update(serialize(NO_NAME, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    expect(last().phase).toBe('checking');
    check.update(serialize(VALID, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    expect(last().phase).toBe('valid');
    // now the stale "invalid" answer arrives: it must not replace the current verdict
    held.resolve({
      status: 200,
      body: { valid: false, errors: [NAME_ISSUE] }
    });
    await settle();
    expect(last()).toMatchObject({
      phase: 'valid',
      issues: [],
      svgCurrent: true
    });
    expect(requests.filter(r => r.path === 'workflows/validate')).toHaveLength(
      2
    );
  });

  it('drops a drawing of a text that changed since', async () => {
    const held = deferred<IServerAnswer>();
    const { check, last } = make(request =>
      request.path === 'workflows/graph' ? held.promise : server(request)
    );
    check.update(serialize(VALID, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    check.update(serialize(NO_NAME, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    held.resolve({ status: 200, body: SVG, contentType: 'image/svg+xml' });
    await settle();
    expect(last()).toMatchObject({
      phase: 'invalid',
      svg: null,
      svgCurrent: false
    });
  });

  it('does not ask again for a definition already checked (format switch)', async () => {
    const { check, requests, last } = make();
    check.update(serialize(NO_NAME, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    const yaml = serialize(NO_NAME, 'yaml');
    check.update(yaml, 'yaml');
    vi.advanceTimersByTime(300);
    await settle();
    expect(requests).toHaveLength(1);
    // the issue moved with the text
    expect(last().issues[0].line).toBe(
      yaml.split('\n').findIndex(l => l.startsWith('name:')) + 1
    );
    check.update(serialize(VALID, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    check.update(serialize(VALID, 'yaml'), 'yaml');
    vi.advanceTimersByTime(300);
    await settle();
    expect(requests.map(r => r.path)).toEqual([
      'workflows/validate',
      'workflows/validate',
      'workflows/graph'
    ]);
    expect(last()).toMatchObject({ phase: 'valid', svgCurrent: true });
  });

  it('says so when the server cannot be reached, and recovers', async () => {
    let down = true;
    const { check, last } = make(request =>
      down ? new TypeError('Failed to fetch') : server(request)
    );
    check.update(serialize(VALID, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    expect(last().phase).toBe('failed');
    expect((last().error as any).status).toBe(0);
    down = false;
    await check.checkNow();
    await settle();
    expect(last()).toMatchObject({ phase: 'valid', error: null, svg: SVG });
  });

  it('keeps the last drawing when drawing fails', async () => {
    let graphs = 0;
    const { check, last } = make(request => {
      if (request.path === 'workflows/graph' && graphs++ > 0) {
        return {
          status: 400,
          body: errorBody('WORKFLOW_VALIDATION_ERROR', 'invalid', [NAME_ISSUE])
        };
      }
      return server(request);
    });
    check.update(serialize(VALID, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    check.update(serialize({ ...VALID, id: 'v' }, 'json'), 'json');
    vi.advanceTimersByTime(300);
    await settle();
    expect(last()).toMatchObject({
      phase: 'valid',
      svg: SVG,
      svgCurrent: false
    });
    expect((last().graphError as any).status).toBe(400);
  });

  it('shows issues given by a refused save, for the current text only', async () => {
    const { check, last } = make();
    const text = serialize(NO_NAME, 'json');
    check.update(text, 'json');
    check.showIssues('another text', [NAME_ISSUE]);
    expect(last().phase).toBe('pending');
    check.showIssues(text, [NAME_ISSUE]);
    expect(last().phase).toBe('invalid');
    expect(last().issues[0].line).toBe(3);
    // the pending check was replaced by these issues: no request
    vi.advanceTimersByTime(300);
    await settle();
    expect(last().phase).toBe('invalid');
  });

  it('stops after dispose', async () => {
    const { check, requests, seen } = make();
    check.update(serialize(VALID, 'json'), 'json');
    check.dispose();
    const count = seen.length;
    vi.advanceTimersByTime(1000);
    await settle();
    check.update('{}', 'json');
    expect(requests).toHaveLength(0);
    expect(seen).toHaveLength(count);
  });
});

describe('placeIssues', () => {
  it('sorts by line and puts a missing target at its parent', () => {
    const text = serialize(VALID, 'json');
    const placed = placeIssues(text, 'json', [
      { path: '/workflow/0/log/level', message: 'b', code: 'X' },
      { path: '/id', message: 'a', code: 'X' }
    ]);
    expect(placed.map(p => [p.message, p.line, p.exact])).toEqual([
      ['a', 2, true],
      ['b', 7, false]
    ]);
  });

  it('puts every issue at line 1 of a text that does not parse', () => {
    const placed = placeIssues('{', 'json', [NAME_ISSUE]);
    expect(placed[0]).toMatchObject({ line: 1, exact: false });
  });
});
