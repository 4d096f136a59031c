// @vitest-environment jsdom
// The automation history's live list (useLiveList) and its states, drawn by React in jsdom:
// the hook is driven by a `load` whose answers the test releases by hand, and the Fires list
// reads through the real WorkscriptClient from a scripted server.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as React from 'react';
import { act } from 'react';
import type { IPage } from '../src/api';
import { FiresHistory, useLiveList } from '../src/automations/history';
import { createRoot, type IRoot } from './automation-fixtures';
import { deferred, scriptedServer, trans } from './editor-server';

interface IItem {
  id: string;
}
type List = ReturnType<typeof useLiveList<IItem>>;

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const page = (ids: string[], nextCursor: string | null = null) => ({
  items: ids.map(id => ({ id })),
  nextCursor
});

/** A `load` whose every call waits until the test answers it. */
function heldLoad() {
  const calls: {
    cursor: string | null;
    answer: (page: IPage<IItem>) => void;
  }[] = [];
  const load = (cursor: string | null) => {
    const held = deferred<IPage<IItem>>();
    calls.push({ cursor, answer: held.resolve });
    return held.promise;
  };
  return { load, calls };
}

let root: IRoot;
let host: HTMLElement;
let list: List;

function Probe(props: {
  load: (cursor: string | null) => Promise<IPage<IItem>>;
  pollMs: number;
}): null {
  list = useLiveList<IItem>(props.load, true, props.pollMs);
  return null;
}

async function probe(
  load: (cursor: string | null) => Promise<IPage<IItem>>,
  pollMs = 60_000
) {
  await act(async () =>
    root.render(React.createElement(Probe, { load, pollMs }))
  );
}

beforeEach(async () => {
  (globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
  host = document.createElement('div');
  document.body.appendChild(host);
  root = await createRoot(host);
});

afterEach(async () => {
  await act(async () => root.unmount());
  host.remove();
});

describe('useLiveList', () => {
  it('drops the answer to an older list', async () => {
    const first = heldLoad();
    const second = heldLoad();
    await probe(first.load);
    await probe(second.load);
    await act(async () => second.calls[0].answer(page(['new'])));
    await act(async () => first.calls[0].answer(page(['old'])));
    expect(list.items.map(i => i.id)).toEqual(['new']);
    expect(list.loaded).toBe(true);
  });

  it('asks for the first page once while an answer is awaited', async () => {
    const held = heldLoad();
    await probe(held.load, 10);
    await act(() => sleep(60));
    await act(async () => list.refresh());
    expect(held.calls).toHaveLength(1);
    await act(async () => held.calls[0].answer(page(['a'])));
    await act(() => sleep(30));
    expect(held.calls.length).toBeGreaterThan(1);
  });

  it('loads more only where there is more, and keeps those pages on a refresh', async () => {
    const held = heldLoad();
    await probe(held.load);
    await act(async () => held.calls[0].answer(page(['b', 'a'], 'at-a')));
    await act(async () => list.more());
    expect(held.calls[1].cursor).toBe('at-a');
    await act(async () => held.calls[1].answer(page(['z'])));
    expect(list.cursor).toBeNull();
    await act(async () => list.more());
    expect(held.calls).toHaveLength(2);

    await act(async () => list.refresh());
    await act(async () => held.calls[2].answer(page(['c', 'b'], 'at-b')));
    expect(list.items.map(i => i.id)).toEqual(['c', 'b', 'a', 'z']);
    expect(list.cursor).toBeNull();
  });
});

describe('FiresHistory', () => {
  it('says it is loading, that there are no fires, or why it failed with a Retry', async () => {
    let answer = deferred<void>();
    let down = false;
    const { client } = scriptedServer(async () => {
      await answer.promise;
      return down
        ? new Error('connection refused')
        : { status: 200, body: { items: [], nextCursor: null } };
    });
    const show = (automationId: string, pollMs = 60_000) =>
      act(async () =>
        root.render(
          React.createElement(FiresHistory, {
            client,
            trans,
            commands: { execute: async () => undefined },
            automationId,
            visible: true,
            pollMs
          })
        )
      );
    const state = () => host.querySelector('.jp-Workscript-state');
    await show('a1', 30);
    expect(state()?.textContent).toBe('Loading…');
    await act(async () => answer.resolve());
    await act(() => sleep(20));
    expect(state()?.textContent).toBe('No fires yet.');
    // read again every few seconds: no flash of "Loading…" meanwhile
    answer = deferred<void>();
    await act(() => sleep(60));
    expect(state()?.textContent).toBe('No fires yet.');
    await act(async () => answer.resolve());

    down = true;
    await show('a2');
    await act(() => sleep(20));
    expect(state()?.getAttribute('role')).toBe('alert');
    expect(state()?.textContent).toMatch(/cannot be reached/);
    down = false;
    await act(async () => state()!.querySelector('button')!.click());
    await act(() => sleep(20));
    expect(state()?.textContent).toBe('No fires yet.');
  });
});
