// @vitest-environment jsdom
// A row of the Connections section: Test, Rename and Delete, drawn by React in jsdom over a
// scripted server (connections-fixtures.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { act } from 'react';
import {
  $,
  click,
  connection,
  row,
  SectionHarness,
  sleep,
  waitFor
} from './connections-fixtures';

let h: SectionHarness;

beforeEach(() => {
  h = new SectionHarness();
});

afterEach(async () => {
  await h.unmount();
});

describe('a row', () => {
  beforeEach(() => {
    h.server.items = [connection()];
  });

  it('tests the connection and shows ok, or the error', async () => {
    await h.render();
    const c1 = await waitFor(() => row('c1'), 'row');
    await click($('workscript-connection-test', c1));
    const ok = await waitFor(
      () => $('workscript-connection-outcome', c1),
      'ok'
    );
    expect(ok.dataset.ok).toBe('true');
    expect(ok.textContent).toContain('ada@example.com');

    h.server.testAnswer = () => ({
      status: 200,
      body: {
        ok: false,
        error: 'Google refused the grant: reconnect',
        code: 'GOOGLE_AUTH',
        connection: { ...connection(), status: 'needs_consent' }
      }
    });
    await click($('workscript-connection-test', c1));
    await waitFor(
      () =>
        $('workscript-connection-outcome', row('c1')!)?.dataset.ok === 'false',
      'the error'
    );
    expect(row('c1')!.textContent).toContain('Google refused the grant');
    expect(row('c1')!.dataset.status).toBe('needs_consent');
  });

  it('renames inline, refusing an empty name before asking the server', async () => {
    await h.render();
    const c1 = await waitFor(() => row('c1'), 'row');
    await click($('workscript-connection-rename', c1));
    const input = $('workscript-connection-name') as HTMLInputElement;
    const setValue = async (value: string) => {
      Object.getOwnPropertyDescriptor(
        HTMLInputElement.prototype,
        'value'
      )!.set!.call(input, value);
      await act(async () => {
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });
    };
    await setValue('   ');
    await click($('workscript-connection-save'));
    expect($('workscript-connection-outcome')!.textContent).toContain('name:');
    expect(h.server.calls('PATCH integrations/c1')).toHaveLength(0);
    await setValue('Ada at work');
    await click($('workscript-connection-save'));
    await waitFor(
      () => row('c1')!.textContent!.includes('Ada at work'),
      'renamed'
    );
    expect(h.server.calls('PATCH integrations/c1')[0].body).toEqual({
      name: 'Ada at work'
    });
  });

  it('deletes only after a confirmation', async () => {
    await h.render();
    const c1 = await waitFor(() => row('c1'), 'row');
    h.confirmAnswer = false;
    await click($('workscript-connection-delete', c1));
    await act(() => sleep(20));
    expect(h.confirmed).toEqual(['Delete connection']);
    expect(h.server.calls('DELETE integrations/c1')).toHaveLength(0);
    expect(row('c1')).not.toBeNull();

    h.confirmAnswer = true;
    await click($('workscript-connection-delete', c1));
    await waitFor(() => row('c1') === null, 'the row gone');
    expect(h.server.calls('DELETE integrations/c1')).toHaveLength(1);
    expect($('workscript-connections-notice')!.textContent).toContain(
      'Google revoked'
    );
  });
});
