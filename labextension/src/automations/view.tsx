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
import { IAutomation, WorkscriptClient, WorkscriptError } from '../api';
import { describeError, ErrorState } from '../common';
import { CommandIds, type INewAutomationArgs } from '../context';
import { formControls, labels, useWorkflows } from './binding';
import { previewFault, useCronPreview } from './fields';
import { FailureFieldset, TargetFieldset, WhenFieldset } from './formSections';
import { FiresHistory, LastRuns } from './history';
import { AutomationToolbar, SaveBar } from './toolbar';
import {
  browserZone,
  changesOf,
  errorsOfDetails,
  FieldErrors,
  FormField,
  formOf,
  IAutomationForm,
  inputOf,
  newForm,
  parseParameters,
  timeZones,
  webhookUrl
} from './model';

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
  const controls = formControls(uid, form, errors, set);
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

  return (
    <div className="jp-Workscript-automation" data-automation-id={id ?? ''}>
      <AutomationToolbar
        trans={trans}
        stored={stored}
        busy={busy}
        actionError={actionError}
        runNow={() => void runNow()}
        toggle={() => void toggle()}
        remove={() => void remove()}
      />

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
        {controls.textField('name', trans.__('Name'))}

        <TargetFieldset
          trans={trans}
          uid={uid}
          form={form}
          set={set}
          controls={controls}
          workflows={workflows}
          knownWorkflow={knownWorkflow}
          parametersError={parametersError}
        />

        <WhenFieldset
          trans={trans}
          uid={uid}
          form={form}
          set={set}
          controls={controls}
          errors={errors}
          names={names}
          zones={zones}
          preview={preview}
          fault={fault}
          cronErrorId={cronErrorId}
          revealed={revealed}
          stored={stored}
          storedWebhook={storedWebhook}
          busy={busy}
          copy={props.copy}
          rotate={() => void rotate()}
        />

        <FailureFieldset trans={trans} controls={controls} names={names} />

        <SaveBar
          trans={trans}
          stored={stored}
          saving={saving}
          dirty={dirty}
          notice={notice}
          saveError={saveError}
          otherErrors={otherErrors}
          fieldErrors={Object.keys(errors).length > 0}
        />
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
