/**
 * The fieldsets of the automation form: what it runs (a workflow, or a notebook and its
 * parameters), when it runs (trigger, cron and its preview, zone, misfires, webhook) and what
 * happens when runs overlap or fail (policy, retries, timeout).
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { IAutomation } from '../api';
import { describeError } from '../common';
import {
  ariaOf,
  CronPreview,
  CronPreviewState,
  Field,
  previewFault,
  WebhookBlock
} from './fields';
import type { FormControls, FormSetter, Labels, Workflows } from './binding';
import {
  FieldErrors,
  IAutomationForm,
  MISFIRE_POLICIES,
  OVERLAP_POLICIES,
  TRIGGER_TYPES
} from './model';

/** What it runs: a workflow, or a notebook and its parameters. */
export function TargetFieldset(props: {
  trans: TranslationBundle;
  uid: string;
  form: IAutomationForm;
  set: FormSetter;
  controls: FormControls;
  workflows: Workflows;
  knownWorkflow: boolean;
  parametersError: string | undefined;
}): JSX.Element {
  const { trans, uid, form, set, workflows, knownWorkflow, parametersError } =
    props;
  const { control, fieldOf, bind, textField } = props.controls;
  return (
    <fieldset
      className="jp-Workscript-fieldset"
      data-testid="workscript-automation-target"
    >
      <legend>{trans.__('What it runs')}</legend>
      <div className="jp-Workscript-radios" role="radiogroup">
        {(['workflow', 'notebook'] as const).map(kind => (
          <label key={kind}>
            <input
              type="radio"
              name={`${uid}-target`}
              data-testid={`workscript-automation-target-${kind}`}
              checked={form.target === kind}
              onChange={() => set('target', kind)}
            />
            {kind === 'workflow'
              ? trans.__('A workflow')
              : trans.__('A notebook')}
          </label>
        ))}
      </div>
      {form.target === 'workflow' ? (
        <Field {...fieldOf('workflowId', trans.__('Workflow'))}>
          <select
            {...control('workflowId')}
            className="jp-Workscript-input"
            value={form.workflowId}
            onChange={e => set('workflowId', e.target.value)}
          >
            <option value="">
              {workflows.loading
                ? trans.__('Loading workflows…')
                : trans.__('Choose a workflow')}
            </option>
            {knownWorkflow ? null : (
              <option value={form.workflowId}>{form.workflowId}</option>
            )}
            {workflows.items.map(w => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
          {workflows.error ? (
            <div className="jp-Workscript-fieldError" role="alert">
              {trans.__(
                'The workflows cannot be listed: %1',
                describeError(workflows.error, trans)
              )}{' '}
              <button
                type="button"
                className="jp-Workscript-button"
                onClick={workflows.retry}
              >
                {trans.__('Retry')}
              </button>
            </div>
          ) : !workflows.loading && workflows.items.length === 0 ? (
            <div className="jp-Workscript-hint">
              {trans.__('No workflows yet: create one first.')}
            </div>
          ) : null}
        </Field>
      ) : (
        <>
          {textField(
            'notebookPath',
            trans.__('Notebook path'),
            { placeholder: 'reports/daily.ipynb' },
            trans.__('Relative to the server root, e.g. reports/daily.ipynb')
          )}
          <Field
            id={`${uid}-parameters`}
            label={trans.__('Parameters (JSON object)')}
            error={parametersError}
          >
            <textarea
              {...bind('parameters')}
              {...ariaOf(`${uid}-parameters`, parametersError)}
              className="jp-Workscript-input jp-Workscript-code"
              rows={6}
              spellCheck={false}
            />
          </Field>
        </>
      )}
    </fieldset>
  );
}

/** When it runs: the trigger and what goes with it, and (for a new one) enabled. */
export function WhenFieldset(props: {
  trans: TranslationBundle;
  uid: string;
  form: IAutomationForm;
  set: FormSetter;
  controls: FormControls;
  errors: FieldErrors;
  names: Labels;
  zones: string[];
  preview: CronPreviewState;
  fault: ReturnType<typeof previewFault>;
  cronErrorId: string;
  revealed: string | null;
  stored: IAutomation | null;
  storedWebhook: boolean;
  busy: boolean;
  copy: (text: string) => Promise<void>;
  rotate: () => void;
}): JSX.Element {
  const {
    trans,
    uid,
    form,
    set,
    errors,
    names,
    zones,
    preview,
    fault,
    cronErrorId,
    revealed,
    stored,
    storedWebhook,
    busy,
    rotate
  } = props;
  const { control, fieldOf, bind, textField, choiceField } = props.controls;
  return (
    <fieldset className="jp-Workscript-fieldset">
      <legend>{trans.__('When it runs')}</legend>
      {choiceField(
        'triggerType',
        trans.__('Trigger'),
        TRIGGER_TYPES,
        names.trigger
      )}
      {form.triggerType === 'cron' ? (
        <>
          <div className="jp-Workscript-fieldRow">
            {textField(
              'cron',
              trans.__('Cron expression'),
              {
                ...(fault === 'cron' && !errors.cron
                  ? {
                      'aria-invalid': true,
                      'aria-describedby': `${uid}-cron-hint ${cronErrorId}`
                    }
                  : {}),
                className: 'jp-Workscript-input jp-Workscript-code',
                spellCheck: false,
                autoComplete: 'off',
                placeholder: '0 9 * * 1-5'
              },
              trans.__(
                'minute hour day-of-month month day-of-week (or 6 fields, seconds first; or @daily, @hourly…)'
              )
            )}
            <Field {...fieldOf('timezone', trans.__('Time zone'))}>
              <input
                {...bind('timezone')}
                {...(fault === 'timezone' && !errors.timezone
                  ? {
                      'aria-invalid': true,
                      'aria-describedby': cronErrorId
                    }
                  : {})}
                className="jp-Workscript-input"
                list={`${uid}-zones`}
                autoComplete="off"
              />
              <datalist id={`${uid}-zones`}>
                {zones.map(z => (
                  <option key={z} value={z} />
                ))}
              </datalist>
            </Field>
          </div>
          <div id={cronErrorId}>
            <CronPreview state={preview} trans={trans} />
          </div>
          <div className="jp-Workscript-fieldRow">
            {choiceField(
              'misfirePolicy',
              trans.__('Runs missed while no server ran'),
              MISFIRE_POLICIES,
              names.misfire
            )}
            {textField(
              'misfireGraceSeconds',
              trans.__('Grace (seconds)'),
              { type: 'number', min: 0, step: 1 },
              trans.__('Runs missed by longer are skipped.')
            )}
          </div>
        </>
      ) : form.triggerType === 'webhook' ? (
        <WebhookBlock
          trans={trans}
          url={revealed}
          stored={storedWebhook}
          hasToken={stored?.hasWebhookToken ?? false}
          busy={busy}
          onCopy={props.copy}
          onRotate={() => void rotate()}
        />
      ) : (
        <div className="jp-Workscript-hint">
          {trans.__('It runs only when you press Run now.')}
        </div>
      )}
      {stored === null ? (
        <label className="jp-Workscript-toggle">
          <input
            {...control('enabled')}
            type="checkbox"
            checked={form.enabled}
            onChange={e => set('enabled', e.target.checked)}
          />
          {trans.__('Enabled')}
        </label>
      ) : null}
    </fieldset>
  );
}

/** When runs overlap or fail: the overlap policy, retries and timeout. */
export function FailureFieldset(props: {
  trans: TranslationBundle;
  controls: FormControls;
  names: Labels;
}): JSX.Element {
  const { trans, names } = props;
  const { textField, choiceField } = props.controls;
  return (
    <fieldset className="jp-Workscript-fieldset">
      <legend>{trans.__('When runs overlap or fail')}</legend>
      {choiceField(
        'overlapPolicy',
        trans.__('A run due while the previous one still runs'),
        OVERLAP_POLICIES,
        names.overlap
      )}
      <div className="jp-Workscript-fieldRow">
        {textField('retryCount', trans.__('Retries'), {
          type: 'number',
          min: 0,
          max: 10,
          step: 1
        })}
        {textField('retryDelaySeconds', trans.__('Delay (seconds)'), {
          type: 'number',
          min: 0
        })}
        {textField('retryBackoff', trans.__('Backoff factor'), {
          type: 'number',
          min: 1,
          max: 10,
          step: 'any'
        })}
      </div>
      {textField(
        'timeoutSeconds',
        trans.__('Timeout (seconds)'),
        { type: 'number', min: 0, step: 'any' },
        trans.__('Empty: no timeout.')
      )}
    </fieldset>
  );
}
