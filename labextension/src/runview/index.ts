/**
 * The run view tab: `createRunView(ctx, executionId)` makes the main-area widget that shows
 * one run (header, error, notebook failure, node timeline, states) and follows it live while
 * it is queued or running. Its id is `workscript-run-<executionId>`, so the command that opens
 * it can find an open tab of the same run and show that one instead.
 */

import * as React from 'react';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandIds, IWorkscriptContext } from '../context';
import { workscriptIcon } from '../panel';
import { checkExecutionId, runViewId } from './ids';
import { IRunViewState, RunModel } from './model';
import { RunView } from './RunView';

export { checkExecutionId, runViewId } from './ids';
export { RunModel } from './model';
export type { IRunViewState } from './model';

/** The React content of the tab; it owns the model and ends it when disposed. */
class RunViewContent extends ReactWidget {
  constructor(
    readonly model: RunModel,
    private readonly _ctx: IWorkscriptContext
  ) {
    super();
    this.addClass('jp-Workscript-runViewContent');
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected render(): JSX.Element {
    return React.createElement(RunView, { model: this.model, ctx: this._ctx });
  }
}

function short(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/** The tab's label: the workflow's name (once read) and the short run id; the status. */
function titleOf(
  ctx: IWorkscriptContext,
  executionId: string,
  state: IRunViewState
): { label: string; caption: string } {
  const name = state.workflowName ?? state.run?.workflowId ?? null;
  const label = name
    ? ctx.trans.__('%1 · run %2', name, short(executionId))
    : ctx.trans.__('Run %1', short(executionId));
  const caption = state.run
    ? ctx.trans.__('Run %1 (%2)', executionId, state.run.status)
    : ctx.trans.__('Run %1', executionId);
  return { label, caption };
}

/** The tab of run `executionId`; it starts reading (and following) the run at once. */
export function createRunView(
  ctx: IWorkscriptContext,
  executionId: string
): MainAreaWidget {
  const id = checkExecutionId(executionId);
  const model = new RunModel({
    client: ctx.client,
    socket: ctx.socket,
    executionId: id,
    openRun: next => ctx.app.commands.execute(CommandIds.openRun, { id: next })
  });
  const content = new RunViewContent(model, ctx);
  const widget = new MainAreaWidget({ content });
  widget.id = runViewId(id);
  widget.addClass('jp-Workscript-runViewTab');
  widget.title.icon = workscriptIcon;
  widget.title.closable = true;
  const setTitle = (state: IRunViewState) => {
    const { label, caption } = titleOf(ctx, id, state);
    if (widget.title.label !== label) {
      widget.title.label = label;
    }
    if (widget.title.caption !== caption) {
      widget.title.caption = caption;
    }
  };
  setTitle(model.state);
  model.onChange(setTitle);
  void model.start();
  return widget;
}
