/**
 * The automation form tab: create or edit an automation, preview its cron, see its fires.
 * `createAutomationEditor` makes the tab; `parametersOfNotebook` reads a notebook's papermill
 * parameters for "Schedule this notebook".
 */

import type { MainAreaWidget } from '@jupyterlab/apputils';
import type { INewAutomationArgs, IWorkscriptContext } from '../context';
import { AutomationEditorWidget } from './widget';

export { AutomationEditorWidget, automationTabId } from './widget';
export { parametersOfNotebook, type INotebookCellLike } from './parameters';

/**
 * The tab of the stored automation `options.id`, or of a new one prefilled with
 * `options.prefill`. After a new one is created, the same tab shows the stored one: its id
 * becomes `workscript-automation-<id>` and `automationId` the automation's id.
 */
export function createAutomationEditor(
  ctx: IWorkscriptContext,
  options: { id?: string; prefill?: INewAutomationArgs }
): MainAreaWidget & { readonly automationId: string | null } {
  return new AutomationEditorWidget(ctx, options);
}
