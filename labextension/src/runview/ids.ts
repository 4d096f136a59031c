/**
 * The run view's ids: which strings may name a run, and the id of a run's tab (so the command
 * that opens a run can find its open tab). Pure.
 */

/** Ids are 32 hex characters on the server; anything id-like is accepted, nothing else. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** `executionId` itself; throws when it cannot be a run's id (a command passes what it got). */
export function checkExecutionId(executionId: unknown): string {
  if (typeof executionId !== 'string' || !ID_PATTERN.test(executionId)) {
    throw new Error(
      `a run view needs a run id (letters, digits, '_', '.', ':' or '-', at most 128), got ${JSON.stringify(
        executionId
      )}`
    );
  }
  return executionId;
}

/** The id of the run view tab of `executionId`. */
export function runViewId(executionId: string): string {
  return `workscript-run-${checkExecutionId(executionId)}`;
}
