/**
 * The plumbing of the automation form: the labels of its choices, the list of workflows it
 * offers, and the labelled controls bound to one field of the form each.
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { IWorkflow, WorkscriptClient } from '../api';
import { ariaOf, Field } from './fields';
import { FieldErrors, FormField, IAutomationForm } from './model';

/** The fields typed as free text (inputs and text areas). */
export type TextField = {
  [K in FormField]: string extends IAutomationForm[K] ? K : never;
}[FormField];

/** The fields chosen from a list of words. */
export type ChoiceField = 'triggerType' | 'misfirePolicy' | 'overlapPolicy';

/** The labels of the choices, in words. */
export function labels(trans: TranslationBundle) {
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

export function useWorkflows(client: WorkscriptClient) {
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

export type Labels = ReturnType<typeof labels>;
export type Workflows = ReturnType<typeof useWorkflows>;

/** Sets one field of the form. */
export type FormSetter = <K extends FormField>(
  field: K,
  value: IAutomationForm[K]
) => void;

/** The controls of `form`, with ids under `uid`, its `errors` and its setter `set`. */
export function formControls(
  uid: string,
  form: IAutomationForm,
  errors: FieldErrors,
  set: FormSetter
) {
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
  return { control, fieldOf, bind, textField, choiceField };
}

export type FormControls = ReturnType<typeof formControls>;
