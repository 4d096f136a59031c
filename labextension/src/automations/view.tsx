/**
 * The automation form: create or edit one automation (target, trigger, cron with its live
 * preview, zone, policies, retries, timeout), and for a stored one its toolbar (run now,
 * enabled, delete), its webhook and its history. All I/O is the REST client's; the logic that
 * needs no DOM is in model.ts. Lab's dialogs and clipboard come in as `confirm` and `copy` so
 * that this view stays a plain React component.
 */

import * as React from 'react';
import type { CommandRegistry } from '@lumino/commands';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  IAutomation,
  IWorkflow,
  WorkscriptClient,
  WorkscriptError
} from '../api';
import { describeError, ErrorState } from '../common';
import { CommandIds, type INewAutomationArgs } from '../context';
import {
  ariaOf,
  CronPreview,
  Field,
  previewFault,
  useCronPreview,
  WebhookBlock
} from './fields';
import { FiresHistory, LastRuns } from './history';
import {
  browserZone,
  changesOf,
  errorsOfDetails,
  FieldErrors,
  FormField,
  formOf,
  IAutomationForm,
  inputOf,
  MISFIRE_POLICIES,
  newForm,
  OVERLAP_POLICIES,
  parseParameters,
  timeZones,
  TRIGGER_TYPES,
  webhookUrl
} from './model';

/** The fields typed as free text (inputs and text areas). */
type TextField = {
  [K in FormField]: string extends IAutomationForm[K] ? K : never;
}[FormField];

/** The fields chosen from a list of words. */
type ChoiceField = 'triggerType' | 'misfirePolicy' | 'overlapPolicy';

export interface IConfirmOptions {
  title: string;
  body: string;
  accept: string;
}

export interface IAutomationViewProps {
  client: WorkscriptClient;
  trans: TranslationBundle;
  commands: Pick<CommandRegistry, 'execute'>;
  /** The stored automation to edit; null for a new one. */
  automationId: string | null;
  prefill?: INewAutomationArgs;
  /** The tab is in view (the history is polled only then). */
  visible: boolean;
  /** The page's origin, for the webhook URL when the base URL is a path. */
  origin: string;
  /** The zone of a new automation (the browser's by default). */
  zone?: string;
  confirm: (options: IConfirmOptions) => Promise<boolean>;
  copy: (text: string) => Promise<void>;
  /** The automation as read, created or saved. */
  onStored?: (automation: IAutomation) => void;
  /** The stored record changed here (created, saved, toggled or deleted). */
  onChanged?: () => void;
  onDeleted?: () => void;
  onDirty?: (dirty: boolean) => void;
  /** Polling period of the history (tests shorten it). */
  pollMs?: number;
}

/** The labels of the choices, in words. */
function labels(trans: TranslationBundle) {
  return {
    trigger: {
      cron: trans.__('On a schedule (cron)'),
      webhook: trans.__('By a webhook'),
      manual: trans.__('By hand only')
    },
    misfire: {
      skip: trans.__('Skip missed runs'),
      run_once: trans.__('Run once for all missed runs'),
      run_all: trans.__('Run each missed run')
    },
    overlap: {
      skip: trans.__('Skip the new run'),
      queue: trans.__('Queue it after the running one'),
      allow: trans.__('Run both at once')
    }
  };
}

function useWorkflows(client: WorkscriptClient) {
  const [state, setState] = React.useState<{
    items: IWorkflow[];
    loading: boolean;
    error: unknown;
  }>({ items: [], loading: true, error: null });
  const [attempt, setAttempt] = React.useState(0);
  React.useEffect(() => {
    let current = true;
    setState(s => ({ ...s, loading: true, error: null }));
    client
      .all(cursor => client.listWorkflows({ cursor, limit: 100 }), 10)
      .then(
        items => current && setState({ items, loading: false, error: null }),
        error => current && setState({ items: [], loading: false, error })
      );
    return () => {
      current = false;
    };
  }, [client, attempt]);
  return { ...state, retry: () => setAttempt(n => n + 1) };
}

export function AutomationView(props: IAutomationViewProps): JSX.Element {
  const { client, trans, commands } = props;
  const uid = React.useId();
  const [id, setId] = React.useState<string | null>(props.automationId);
  const [stored, setStored] = React.useState<IAutomation | null>(null);
  const [loadError, setLoadError] = React.useState<unknown>(null);
  const [attempt, setAttempt] = React.useState(0);
  const [form, setForm] = React.useState<IAutomationForm | null>(() =>
    props.automationId === null
      ? newForm(props.prefill, props.zone ?? browserZone())
      : null
  );
  const [errors, setErrors] = React.useState<FieldErrors>({});
  const [otherErrors, setOtherErrors] = React.useState<string[]>([]);
  const [saveError, setSaveError] = React.useState<unknown>(null);
  const [saving, setSaving] = React.useState(false);
  const [notice, setNotice] = React.useState('');
  const [revealed, setRevealed] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [actionError, setActionError] = React.useState<unknown>(null);
  const formRef = React.useRef<HTMLFormElement>(null);
  // the callbacks of the latest render, so that a parent's new closures start no reload
  const latest = React.useRef(props);
  latest.current = props;
  const onStored = React.useCallback(
    (automation: IAutomation) => latest.current.onStored?.(automation),
    []
  );
  const zones = React.useMemo(() => timeZones(), []);
  const names = labels(trans);

  // a stored automation: read it (again on Retry)
  const loadId = props.automationId;
  React.useEffect(() => {
    if (loadId === null) {
      return;
    }
    let current = true;
    setLoadError(null);
    client.getAutomation(loadId).then(
      automation => {
        if (current) {
          setStored(automation);
          setForm(formOf(automation));
          onStored(automation);
        }
      },
      error => current && setLoadError(error)
    );
    return () => {
      current = false;
    };
  }, [client, loadId, attempt, onStored]);

  const workflows = useWorkflows(client);
  const cronActive = form?.triggerType === 'cron';
  const preview = useCronPreview(
    client,
    cronActive ? form!.cron : '',
    form?.timezone ?? '',
    cronActive
  );
  const fault = previewFault(preview);

  const built = React.useMemo(
    () => (form === null ? null : inputOf(form, trans)),
    [form, trans]
  );
  const changes =
    built !== null && stored !== null ? changesOf(stored, built.input) : null;
  const invalid = built !== null && Object.keys(built.errors).length > 0;
  const dirty =
    stored === null
      ? form !== null
      : invalid || (changes !== null && Object.keys(changes).length > 0);

  const dirtyStored = stored !== null && dirty;
  React.useEffect(() => {
    latest.current.onDirty?.(dirtyStored);
  }, [dirtyStored]);

  if (form === null) {
    if (loadError) {
      const missing =
        loadError instanceof WorkscriptError && loadError.status === 404;
      return (
        <div className="jp-Workscript-automation">
          <ErrorState
            message={
              missing
                ? trans.__(
                    'This automation does not exist, or is not yours (it may have been deleted).'
                  )
                : describeError(loadError, trans)
            }
            trans={trans}
            onRetry={missing ? undefined : () => setAttempt(n => n + 1)}
            testId="workscript-automation-error"
          />
        </div>
      );
    }
    return (
      <div className="jp-Workscript-automation">
        <div className="jp-Workscript-state" role="status">
          {trans.__('Loading the automation…')}
        </div>
      </div>
    );
  }

  const set = <K extends FormField>(field: K, value: IAutomationForm[K]) => {
    setForm(f => (f === null ? f : { ...f, [field]: value }));
    setErrors(e => {
      if (e[field] === undefined) {
        return e;
      }
      const rest = { ...e };
      delete rest[field];
      return rest;
    });
    setNotice('');
  };
  const control = (field: FormField, hint = false) => ({
    id: `${uid}-${field}`,
    'data-testid': `workscript-automation-${field}`,
    ...ariaOf(`${uid}-${field}`, errors[field], hint)
  });
  /** The label, hint and error around the control of `field`. */
  const fieldOf = (field: FormField, label: string, hint?: string) => ({
    id: `${uid}-${field}`,
    label,
    error: errors[field],
    hint
  });
  /** The control of a text field, bound to the form. */
  const bind = (field: TextField, hint = false) => ({
    ...control(field, hint),
    value: form[field],
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
      set(field, e.target.value)
  });
  /** A labelled input of a text field; `input` adds to (or overrides) its attributes. */
  const textField = (
    field: TextField,
    label: string,
    input: React.InputHTMLAttributes<HTMLInputElement> = {},
    hint?: string
  ) => (
    <Field {...fieldOf(field, label, hint)}>
      <input
        {...bind(field, hint !== undefined)}
        className="jp-Workscript-input"
        {...input}
      />
    </Field>
  );
  /** A labelled list of the `choices` of a field, each in `words`. */
  const choiceField = <K extends ChoiceField>(
    field: K,
    label: string,
    choices: readonly IAutomationForm[K][],
    words: Record<IAutomationForm[K], string>
  ) => (
    <Field {...fieldOf(field, label)}>
      <select
        {...control(field)}
        className="jp-Workscript-input"
        value={form[field]}
        onChange={e => set(field, e.target.value as IAutomationForm[K])}
      >
        {choices.map(choice => (
          <option key={choice} value={choice}>
            {words[choice]}
          </option>
        ))}
      </select>
    </Field>
  );
  const focusFirstError = () =>
    setTimeout(() => {
      formRef.current
        ?.querySelector<HTMLElement>('[aria-invalid="true"]')
        ?.focus();
    }, 0);

  /** Show the webhook URL of token path `path` (once: the server keeps only its hash). */
  const reveal = (path: string) =>
    setRevealed(webhookUrl(props.origin, client.settings.baseUrl, path));

  const save = async () => {
    if (built === null || saving) {
      return;
    }
    setSaveError(null);
    setOtherErrors([]);
    setNotice('');
    setErrors(built.errors);
    if (invalid) {
      focusFirstError();
      return;
    }
    if (stored !== null && changes !== null && !Object.keys(changes).length) {
      setNotice(trans.__('Nothing to save.'));
      return;
    }
    setSaving(true);
    try {
      const answer =
        stored === null
          ? await client.createAutomation(built.input)
          : await client.updateAutomation(stored.id, changes!);
      setStored(answer);
      setId(answer.id);
      setForm(formOf(answer));
      setErrors({});
      if (answer.webhookPath) {
        reveal(answer.webhookPath);
      } else if (answer.triggerType !== 'webhook') {
        setRevealed(null);
      }
      setNotice(
        stored === null
          ? trans.__('Automation created.')
          : trans.__('Automation saved.')
      );
      onStored(answer);
      latest.current.onChanged?.();
    } catch (error) {
      const details =
        error instanceof WorkscriptError && error.status === 400
          ? errorsOfDetails(error.details, form.target)
          : null;
      if (details && Object.keys(details.fields).length > 0) {
        setErrors(details.fields);
        setOtherErrors(details.other);
        focusFirstError();
      } else if (details && details.other.length > 0) {
        setOtherErrors(details.other);
      } else {
        setSaveError(error);
      }
    } finally {
      setSaving(false);
    }
  };

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setActionError(null);
    try {
      await work();
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy(false);
    }
  };
  const runNow = () =>
    act(async () => {
      const run = await client.executeAutomation(stored!.id);
      await commands.execute(CommandIds.openRun, { id: run.id });
    });
  const toggle = () =>
    act(async () => {
      const answer = await client.toggleAutomation(
        stored!.id,
        !stored!.enabled
      );
      setStored(answer);
      setForm(f => (f === null ? f : { ...f, enabled: answer.enabled }));
      onStored(answer);
      latest.current.onChanged?.();
    });
  /** `work`, once the user agrees to `question`. */
  const actIfSure = (question: IConfirmOptions, work: () => Promise<void>) =>
    act(async () => {
      if (await props.confirm(question)) {
        await work();
      }
    });
  const remove = () =>
    actIfSure(
      {
        title: trans.__('Delete automation'),
        body: trans.__(
          'Delete "%1" and its fire log? Its past runs stay.',
          stored!.name
        ),
        accept: trans.__('Delete')
      },
      async () => {
        await client.deleteAutomation(stored!.id);
        latest.current.onChanged?.();
        latest.current.onDeleted?.();
      }
    );
  const rotate = () =>
    actIfSure(
      {
        title: trans.__('Rotate webhook token'),
        body: trans.__(
          'Make a new webhook URL for "%1"? The current URL stops working at once.',
          stored!.name
        ),
        accept: trans.__('Rotate')
      },
      async () => {
        const answer = await client.rotateWebhook(stored!.id);
        setStored(answer);
        if (answer.webhookPath) {
          reveal(answer.webhookPath);
        }
      }
    );

  const liveParameters =
    form.target === 'notebook' ? parseParameters(form.parameters, trans) : {};
  const parametersError =
    errors.parameters ??
    (typeof liveParameters === 'string' ? liveParameters : undefined);
  const knownWorkflow =
    form.workflowId === '' ||
    workflows.items.some(w => w.id === form.workflowId);
  const storedWebhook = stored !== null && stored.triggerType === 'webhook';
  const cronErrorId = `${uid}-cron-preview`;
  // why the last save failed: the server's words, else the fields marked
  const notSaved = saveError
    ? trans.__('Not saved: %1', describeError(saveError, trans))
    : otherErrors.length > 0
      ? trans.__('Not saved: %1', otherErrors.join('; '))
      : Object.keys(errors).length > 0
        ? trans.__('Not saved: correct the fields marked.')
        : null;

  return (
    <div className="jp-Workscript-automation" data-automation-id={id ?? ''}>
      {stored !== null ? (
        <div
          className="jp-Workscript-automationToolbar"
          role="toolbar"
          aria-label={trans.__('Automation actions')}
        >
          <button
            type="button"
            className="jp-Workscript-button"
            data-testid="workscript-automation-run"
            disabled={busy}
            onClick={() => void runNow()}
          >
            {trans.__('Run now')}
          </button>
          <label className="jp-Workscript-toggle">
            <input
              type="checkbox"
              data-testid="workscript-automation-enabled"
              checked={stored.enabled}
              disabled={busy}
              onChange={() => void toggle()}
            />
            {trans.__('Enabled')}
          </label>
          <button
            type="button"
            className="jp-Workscript-button jp-Workscript-danger"
            data-testid="workscript-automation-delete"
            disabled={busy}
            onClick={() => void remove()}
          >
            {trans.__('Delete')}
          </button>
          <span className="jp-Workscript-meta">
            {stored.triggerType === 'cron' && stored.enabled && stored.nextRunAt
              ? trans.__(
                  'Next run: %1',
                  new Date(stored.nextRunAt).toLocaleString()
                )
              : ''}
          </span>
        </div>
      ) : null}
      {actionError ? (
        <div
          className="jp-Workscript-state jp-Workscript-error"
          role="alert"
          data-testid="workscript-automation-action-error"
        >
          {describeError(actionError, trans)}
        </div>
      ) : null}

      <form
        ref={formRef}
        className="jp-Workscript-automationForm"
        aria-label={
          stored === null
            ? trans.__('New automation')
            : trans.__('Automation %1', stored.name)
        }
        noValidate
        onSubmit={e => {
          e.preventDefault();
          void save();
        }}
      >
        {textField('name', trans.__('Name'))}

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
                trans.__(
                  'Relative to the server root, e.g. reports/daily.ipynb'
                )
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

        <div className="jp-Workscript-formActions">
          <button
            type="submit"
            className="jp-Workscript-button jp-Workscript-primary"
            data-testid="workscript-automation-save"
            disabled={saving || (stored !== null && !dirty)}
          >
            {saving
              ? trans.__('Saving…')
              : stored === null
                ? trans.__('Create')
                : trans.__('Save')}
          </button>
          <span
            className="jp-Workscript-note"
            role="status"
            data-testid="workscript-automation-notice"
          >
            {notice}
          </span>
        </div>
        {notSaved !== null ? (
          <div
            className="jp-Workscript-state jp-Workscript-error"
            role="alert"
            data-testid="workscript-automation-save-error"
          >
            {notSaved}
          </div>
        ) : null}
      </form>

      {stored !== null ? (
        <div className="jp-Workscript-automationHistory">
          <FiresHistory
            client={client}
            trans={trans}
            commands={commands}
            automationId={stored.id}
            visible={props.visible}
            pollMs={props.pollMs}
          />
          <LastRuns
            client={client}
            trans={trans}
            commands={commands}
            automationId={stored.id}
            visible={props.visible}
            pollMs={props.pollMs}
          />
        </div>
      ) : null}
    </div>
  );
}
