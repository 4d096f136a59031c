/**
 * The error state the tabs share (run view, workflow editor, automation form): what went wrong
 * in words, with a Retry button. It belongs beside SectionState in common.tsx (whose error
 * branch is the same markup); it lives here until it moves there.
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';

export function ErrorState(props: {
  /** What went wrong, in words (describeError's, or a sentence around it). */
  message: React.ReactNode;
  trans: TranslationBundle;
  /** Read again; no Retry button without it. */
  onRetry?: () => void;
  retryDisabled?: boolean;
  testId?: string;
  retryTestId?: string;
}): JSX.Element {
  const { trans } = props;
  return (
    <div
      className="jp-Workscript-state jp-Workscript-error"
      role="alert"
      data-testid={props.testId}
    >
      <span>{props.message}</span>
      {props.onRetry ? (
        <button
          type="button"
          className="jp-Workscript-button"
          onClick={props.onRetry}
          disabled={props.retryDisabled}
          aria-label={trans.__('Retry')}
          data-testid={props.retryTestId}
        >
          {trans.__('Retry')}
        </button>
      ) : null}
    </div>
  );
}
