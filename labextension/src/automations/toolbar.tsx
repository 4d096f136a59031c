/**
 * The bars around the automation form: at the top the toolbar of a stored automation (run now,
 * enabled, delete, next run) and the error of its last action; at the bottom the save bar
 * (create or save, its notice, and why the last save failed).
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { IAutomation } from '../api';
import { describeError } from '../common';

export function AutomationToolbar(props: {
  trans: TranslationBundle;
  stored: IAutomation | null;
  busy: boolean;
  actionError: unknown;
  runNow: () => void;
  toggle: () => void;
  remove: () => void;
}): JSX.Element {
  const { trans, stored, busy, actionError, runNow, toggle, remove } = props;
  return (
    <>
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
    </>
  );
}

/** The save bar: the submit button, the notice of the last save, and why it failed. */
export function SaveBar(props: {
  trans: TranslationBundle;
  stored: IAutomation | null;
  saving: boolean;
  dirty: boolean;
  notice: string;
  saveError: unknown;
  otherErrors: string[];
  /** Some fields are marked in error. */
  fieldErrors: boolean;
}): JSX.Element {
  const { trans, stored, saving, dirty, notice, saveError, otherErrors } =
    props;
  // why the last save failed: the server's words, else the fields marked
  const notSaved = saveError
    ? trans.__('Not saved: %1', describeError(saveError, trans))
    : otherErrors.length > 0
      ? trans.__('Not saved: %1', otherErrors.join('; '))
      : props.fieldErrors
        ? trans.__('Not saved: correct the fields marked.')
        : null;
  return (
    <>
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
    </>
  );
}
