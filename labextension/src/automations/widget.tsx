/**
 * The automation tab: a `MainAreaWidget` around the React form. A new automation's tab is
 * `workscript-automation-new-<n>`; once created it goes on as the stored one (id
 * `workscript-automation-<id>`, its name as title), which `automationId` tells. Lab's dialog
 * and clipboard are given to the form here; the form is told when the tab is in view, so that
 * its history is polled only then.
 */

import * as React from 'react';
import {
  Clipboard,
  Dialog,
  MainAreaWidget,
  showDialog
} from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import type { IAutomation } from '../api';
import {
  CommandIds,
  type INewAutomationArgs,
  type IWorkscriptContext
} from '../context';
import { workscriptIcon } from '../panel';
import { AutomationView, type IConfirmOptions } from './view';

/** The id of the tab of a stored automation. */
export function automationTabId(automationId: string): string {
  return `workscript-automation-${automationId}`;
}

let newCounter = 0;

class AutomationContent extends ReactWidget {
  constructor(
    private readonly _ctx: IWorkscriptContext,
    private readonly _options: {
      id?: string;
      prefill?: INewAutomationArgs;
      onStored: (automation: IAutomation) => void;
      onChanged: () => void;
      onDeleted: () => void;
      onDirty: (dirty: boolean) => void;
    }
  ) {
    super();
    this.addClass('jp-Workscript-automationTab');
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.update();
  }

  protected onAfterDetach(msg: Message): void {
    super.onAfterDetach(msg);
    this.update();
  }

  protected render(): JSX.Element {
    const { client, trans, app } = this._ctx;
    return (
      <AutomationView
        client={client}
        trans={trans}
        commands={app.commands}
        automationId={this._options.id ?? null}
        prefill={this._options.prefill}
        visible={this.isVisible}
        origin={window.location.origin}
        confirm={this._confirm}
        copy={copyText}
        onStored={this._options.onStored}
        onChanged={this._options.onChanged}
        onDeleted={this._options.onDeleted}
        onDirty={this._options.onDirty}
      />
    );
  }

  private readonly _confirm = async (
    options: IConfirmOptions
  ): Promise<boolean> => {
    const { trans } = this._ctx;
    const result = await showDialog({
      title: options.title,
      body: options.body,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: options.accept })
      ]
    });
    return result.button.accept;
  };
}

/** `text` to the system clipboard (the async API, else Lab's copy-event way). */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // not allowed here (an insecure origin): the copy event still works
    }
  }
  Clipboard.copyToSystem(text);
}

/** The tab of one automation; `automationId` is null until a new one is created. */
export class AutomationEditorWidget extends MainAreaWidget<ReactWidget> {
  constructor(
    ctx: IWorkscriptContext,
    options: { id?: string; prefill?: INewAutomationArgs }
  ) {
    const { trans } = ctx;
    const content = new AutomationContent(ctx, {
      id: options.id,
      prefill: options.prefill,
      onStored: automation => this._stored(automation),
      onChanged: () =>
        void ctx.app.commands.execute(CommandIds.recordsChanged, {
          kind: 'automations'
        }),
      onDeleted: () => this.dispose(),
      onDirty: dirty => (this.title.className = dirty ? 'jp-mod-dirty' : '')
    });
    super({ content });
    this._automationId = options.id ?? null;
    this.id = options.id
      ? automationTabId(options.id)
      : `workscript-automation-new-${++newCounter}`;
    this.title.label = options.id
      ? trans.__('Automation')
      : trans.__('New automation');
    this.title.caption = this.title.label;
    this.title.icon = workscriptIcon;
    this.title.closable = true;
    this.addClass('jp-Workscript-automationWidget');
    this._trans = ctx.trans;
  }

  /** The stored automation shown, null while it is a new one not yet created. */
  get automationId(): string | null {
    return this._automationId;
  }

  private _stored(automation: IAutomation): void {
    this._automationId = automation.id;
    this.id = automationTabId(automation.id);
    this.title.label = automation.name;
    this.title.caption = this._trans.__('Automation: %1', automation.name);
  }

  private _automationId: string | null;
  private readonly _trans: IWorkscriptContext['trans'];
}
