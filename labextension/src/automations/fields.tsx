/**
 * The pieces of the automation form: a labelled field with its error beside it, the live cron
 * preview (the expression in words and its next five times, from the server's cron/validate
 * route, asked once per pause in typing, stale answers dropped), and the webhook block (the
 * URL shown once with Copy, "token set" and Rotate afterwards).
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CronValidateResult, WorkscriptClient } from '../api';
import { describeError } from '../common';
import { cronErrorText, formatRunTime } from './model';

/** How long typing must pause before the cron expression is checked. */
export const CRON_DEBOUNCE_MS = 300;

export function Field(props: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  className?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <div className={`jp-Workscript-field ${props.className ?? ''}`.trim()}>
      <label className="jp-Workscript-label" htmlFor={props.id}>
        {props.label}
      </label>
      {props.children}
      {props.hint ? (
        <div className="jp-Workscript-hint" id={`${props.id}-hint`}>
          {props.hint}
        </div>
      ) : null}
      {props.error ? (
        <div
          className="jp-Workscript-fieldError"
          id={`${props.id}-error`}
          data-testid="workscript-field-error"
        >
          {props.error}
        </div>
      ) : null}
    </div>
  );
}

/** The ARIA of a field's control: invalid, and described by its hint and its error. */
export function ariaOf(
  id: string,
  error: string | undefined,
  hint = false
): {
  'aria-invalid'?: boolean;
  'aria-describedby'?: string;
} {
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return {
    'aria-invalid': error ? true : undefined,
    'aria-describedby': described || undefined
  };
}

export type CronPreviewState =
  | { kind: 'idle' }
  | { kind: 'pending'; last: CronValidateResult | null }
  | { kind: 'done'; result: CronValidateResult }
  | { kind: 'failed'; error: unknown };

/** The server's reading of `expression` in `zone`, asked after a pause; older answers dropped. */
export function useCronPreview(
  client: WorkscriptClient,
  expression: string,
  zone: string,
  active: boolean,
  delayMs = CRON_DEBOUNCE_MS
): CronPreviewState {
  const [state, setState] = React.useState<CronPreviewState>({
    kind: 'idle'
  });
  React.useEffect(() => {
    const text = expression.trim();
    if (!active || !text) {
      setState({ kind: 'idle' });
      return;
    }
    let current = true;
    setState(old => ({
      kind: 'pending',
      last:
        old.kind === 'done'
          ? old.result
          : old.kind === 'pending'
            ? old.last
            : null
    }));
    const timer = setTimeout(() => {
      client.validateCron(text, zone.trim() || undefined, 5).then(
        result => {
          if (current) {
            setState({ kind: 'done', result });
          }
        },
        error => {
          if (current) {
            setState({ kind: 'failed', error });
          }
        }
      );
    }, delayMs);
    return () => {
      // the expression or the zone changed since: this answer is stale
      current = false;
      clearTimeout(timer);
    };
  }, [client, expression, zone, active, delayMs]);
  return state;
}

/** The field a preview says is wrong (for aria-invalid), or null. */
export function previewFault(state: CronPreviewState): string | null {
  if (state.kind === 'done' && !state.result.valid) {
    return state.result.field === 'timezone' ? 'timezone' : 'cron';
  }
  return null;
}

export function CronPreview(props: {
  state: CronPreviewState;
  trans: TranslationBundle;
}): JSX.Element {
  const { state, trans } = props;
  const result =
    state.kind === 'done'
      ? state.result
      : state.kind === 'pending'
        ? state.last
        : null;
  let body: JSX.Element;
  if (state.kind === 'idle') {
    body = (
      <div className="jp-Workscript-hint">
        {trans.__('Enter a cron expression to see when it runs.')}
      </div>
    );
  } else if (state.kind === 'failed') {
    body = (
      <div
        className="jp-Workscript-fieldError"
        data-testid="workscript-cron-error"
        role="alert"
      >
        {trans.__(
          'The expression cannot be checked: %1',
          describeError(state.error, trans)
        )}
      </div>
    );
  } else if (result === null) {
    body = (
      <div className="jp-Workscript-hint" role="status">
        {trans.__('Checking…')}
      </div>
    );
  } else if (!result.valid) {
    body = (
      <div
        className="jp-Workscript-fieldError"
        data-testid="workscript-cron-error"
        data-field={result.field ?? ''}
        role="alert"
      >
        {cronErrorText(result.error, result.field, trans)}
      </div>
    );
  } else {
    body = (
      <>
        <div
          className="jp-Workscript-cronWords"
          data-testid="workscript-cron-words"
        >
          {result.description}
        </div>
        <ol
          className="jp-Workscript-cronTimes"
          data-testid="workscript-cron-preview"
          aria-label={trans.__('Next run times')}
        >
          {result.nextRunsLocal.map((iso, k) => (
            <li
              key={`${k}-${iso}`}
              title={trans.__(
                'Your time: %1',
                new Date(result.nextRuns[k] ?? iso).toLocaleString()
              )}
            >
              {formatRunTime(iso, result.timezone, result.hasSeconds)}
            </li>
          ))}
        </ol>
      </>
    );
  }
  return (
    <div
      className="jp-Workscript-cronPreview"
      aria-live="polite"
      aria-busy={state.kind === 'pending'}
    >
      {body}
    </div>
  );
}

export function WebhookBlock(props: {
  trans: TranslationBundle;
  /** The URL to show, once (right after create or rotate); null otherwise. */
  url: string | null;
  /** The automation is stored as a webhook one (it can rotate). */
  stored: boolean;
  hasToken: boolean;
  busy: boolean;
  onCopy: (url: string) => Promise<void>;
  onRotate: () => void;
}): JSX.Element {
  const { trans, url } = props;
  const [copied, setCopied] = React.useState<'no' | 'yes' | 'failed'>('no');
  React.useEffect(() => setCopied('no'), [url]);
  const copy = async () => {
    if (url === null) {
      return;
    }
    try {
      await props.onCopy(url);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div className="jp-Workscript-webhook" aria-label={trans.__('Webhook')}>
      {url !== null ? (
        <>
          <div className="jp-Workscript-webhookRow">
            <input
              className="jp-Workscript-input jp-Workscript-webhookUrl"
              data-testid="workscript-webhook-url"
              readOnly
              value={url}
              aria-label={trans.__('Webhook URL')}
              onFocus={e => e.currentTarget.select()}
            />
            <button
              type="button"
              className="jp-Workscript-button"
              data-testid="workscript-webhook-copy"
              onClick={() => void copy()}
            >
              {trans.__('Copy')}
            </button>
          </div>
          <div className="jp-Workscript-note" role="status">
            {copied === 'yes'
              ? trans.__('Copied.')
              : copied === 'failed'
                ? trans.__('Copying failed: select the URL and copy it.')
                : ''}{' '}
            {trans.__(
              'Copy this URL now: it is shown only this once (the server keeps only a hash of its token). POST to it to run the automation.'
            )}
          </div>
        </>
      ) : props.stored ? (
        <div
          className="jp-Workscript-hint"
          data-testid="workscript-webhook-state"
        >
          {props.hasToken
            ? trans.__(
                'Token set. Its URL was shown when it was made; rotate to get a new one (the old URL stops working).'
              )
            : trans.__('No token: rotate to make one.')}
        </div>
      ) : (
        <div
          className="jp-Workscript-hint"
          data-testid="workscript-webhook-state"
        >
          {trans.__('The webhook URL is made when you save.')}
        </div>
      )}
      {props.stored ? (
        <button
          type="button"
          className="jp-Workscript-button"
          data-testid="workscript-webhook-rotate"
          disabled={props.busy}
          onClick={props.onRotate}
        >
          {trans.__('Rotate token')}
        </button>
      ) : null}
    </div>
  );
}
