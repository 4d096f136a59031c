/** The session's state as React state: re-renders on every change of the session. */

import * as React from 'react';
import type { ISessionState, WorkflowSession } from './session';

export function useSessionState(session: WorkflowSession): ISessionState {
  return React.useSyncExternalStore(
    React.useCallback(listener => session.subscribe(listener), [session]),
    () => session.state
  );
}
