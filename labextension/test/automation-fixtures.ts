/**
 * What the automation tests share: a stored automation as the server sends it, and a React
 * root to draw the tab's parts in (jsdom).
 */
import type * as React from 'react';
import type { IAutomation } from '../src/api';

// react-dom ships no types here (it is Lab's own copy): its client API, as used
export interface IRoot {
  render(element: React.ReactElement): void;
  unmount(): void;
}
const reactDomClient = 'react-dom/client';

/** A React root in `container`. */
export async function createRoot(container: Element): Promise<IRoot> {
  const client = (await import(/* @vite-ignore */ reactDomClient)) as {
    createRoot(container: Element): IRoot;
  };
  return client.createRoot(container);
}

/** A stored cron automation of workflow w1 (Paris time), with `extra` over it. */
export function automation(extra: Partial<IAutomation> = {}): IAutomation {
  return {
    id: 'a1',
    name: 'Nightly',
    ownerId: 'u1',
    workflowId: 'w1',
    notebookPath: null,
    parameters: {},
    triggerType: 'cron',
    cron: '0 2 * * *',
    timezone: 'Europe/Paris',
    enabled: true,
    misfirePolicy: 'run_once',
    misfireGraceSeconds: 3600,
    overlapPolicy: 'skip',
    timeoutSeconds: null,
    hasWebhookToken: false,
    retries: { count: 0, delaySeconds: 60, backoff: 2 },
    nextRunAt: '2026-12-04T01:00:00Z',
    lastRunAt: null,
    createdAt: '2026-12-01T00:00:00Z',
    updatedAt: '2026-12-01T00:00:00Z',
    ...extra
  };
}
