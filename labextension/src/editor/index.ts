/**
 * The workflow editor tab: what the plugin needs to open one, find an open one, and save the
 * current one with Accel S.
 */

import type { Widget } from '@lumino/widgets';
import type { IWorkscriptContext } from '../context';
import { EDITOR_CLASS, WorkflowEditorWidget } from './widget';

export { editorWidgetId, WorkflowEditorWidget } from './widget';
export { WorkflowSession } from './session';

/** Saves the workflow of the current editor tab (bound to Accel S inside the tab). */
export const SAVE_WORKFLOW_COMMAND = 'workscript:save-workflow';

/**
 * The editor tab of workflow `workflowId` (null: a new workflow, stored on its first save).
 * The caller adds it to the shell; its id is `workscript-workflow-<id>` (a new one:
 * `workscript-workflow-new-<n>`, then the stored id's after the first save).
 */
export function createWorkflowEditor(
  ctx: IWorkscriptContext,
  workflowId: string | null
): WorkflowEditorWidget {
  registerEditorCommands(ctx);
  return new WorkflowEditorWidget(ctx, workflowId);
}

/** The stored workflow an editor tab shows; null for another widget or an unsaved one. */
export function workflowIdOf(widget: Widget | null | undefined): string | null {
  return widget instanceof WorkflowEditorWidget ? widget.workflowId : null;
}

/**
 * The save command and its Accel S binding inside an editor tab (its selector is nearer the
 * focus than Lab's own Accel S on `body`, so it wins there and only there). Idempotent.
 */
export function registerEditorCommands(ctx: IWorkscriptContext): void {
  const { commands, shell } = ctx.app;
  if (commands.hasCommand(SAVE_WORKFLOW_COMMAND)) {
    return;
  }
  const current = (): WorkflowEditorWidget | null => {
    const widget = shell.currentWidget;
    return widget instanceof WorkflowEditorWidget ? widget : null;
  };
  commands.addCommand(SAVE_WORKFLOW_COMMAND, {
    label: ctx.trans.__('Save Workflow'),
    caption: ctx.trans.__('Save the workflow of the current editor tab'),
    isEnabled: () => current() !== null,
    execute: async () => {
      await current()?.save();
    }
  });
  commands.addKeyBinding({
    command: SAVE_WORKFLOW_COMMAND,
    keys: ['Accel S'],
    selector: `.${EDITOR_CLASS}`
  });
}
