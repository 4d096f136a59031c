/**
 * What every part of the Workscript front end is given: the app (its shell and commands), the
 * REST and WebSocket clients, the translation bundle and Lab's editor services. Parts reach
 * each other through the commands below, never by importing one another, so that the sidebar,
 * the editor tab, the run view and the automation form stay independent modules.
 */

import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { IEditorServices } from '@jupyterlab/codeeditor';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { WorkscriptClient } from './api';
import type { WorkscriptSocket } from './socket';

export interface IWorkscriptContext {
  app: JupyterFrontEnd;
  client: WorkscriptClient;
  socket: WorkscriptSocket;
  trans: TranslationBundle;
  /** Lab's CodeMirror factory; null only in a front end without the editor plugin. */
  editorServices: IEditorServices | null;
}

/**
 * The commands of the extension and their arguments. A command that opens a tab reuses the
 * open tab of the same record.
 */
export const CommandIds = {
  /** Show the sidebar. */
  openPanel: 'workscript:open-panel',
  /** Show the sidebar with its Runs section in view. */
  openRuns: 'workscript:open-runs',
  /** `{id}`: the editor tab of a stored workflow. */
  openWorkflow: 'workscript:open-workflow',
  /** An editor tab on a new, unsaved workflow. */
  newWorkflow: 'workscript:new-workflow',
  /** `{id}`: the run view of one run. */
  openRun: 'workscript:open-run',
  /** `{id}`: the form of a stored automation. */
  openAutomation: 'workscript:open-automation',
  /** `{workflowId?, notebookPath?, parameters?}`: the form of a new automation, prefilled. */
  newAutomation: 'workscript:new-automation',
  /** The form of a new automation for the current notebook (its path, its parameters cell). */
  scheduleNotebook: 'workscript:schedule-notebook',
  /** `{kind: 'workflows' | 'automations'}`: a tab stored, changed or deleted records of this
   * kind; the sidebar reads that list again. */
  recordsChanged: 'workscript:records-changed'
} as const;

/** The lists the sidebar reads again on `CommandIds.recordsChanged`. */
export type RecordKind = 'workflows' | 'automations';

/** Arguments of `CommandIds.newAutomation`. */
export interface INewAutomationArgs {
  workflowId?: string;
  notebookPath?: string;
  parameters?: Record<string, unknown>;
}
