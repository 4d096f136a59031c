/**
 * The Workscript sidebar widget: a Lab `ReactWidget` holding its sections, and the
 * panel's icon. Nothing is read from the server until the panel is first shown, so a Lab
 * session that never opens it costs the server no request and no WebSocket.
 */

import * as React from 'react';
import { LabIcon, ReactWidget } from '@jupyterlab/ui-components';
import { nullTranslator, type ITranslator } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import type { RecordKind } from './context';
import { WorkscriptClient } from './api';
import { ConnectionsSection } from './connections';
import { dialogConfirm } from './connectionsDialog';
import { AutomationsSection, RunsSection, WorkflowsSection } from './sections';
import { WorkscriptSocket } from './socket';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="5" cy="6" r="2.5"/><circle cx="19" cy="6" r="2.5"/><circle cx="12" cy="18" r="2.5"/>
    <path d="M7.2 7.3l3.6 8.2 1.8-.8-3.6-8.2zM16.8 7.3l-3.6 8.2-1.8-.8 3.6-8.2zM7.5 5h9v2h-9z"/>
  </g>
</svg>`;

export const workscriptIcon = new LabIcon({
  name: 'workscript-jupyter:workscript',
  svgstr: ICON_SVG
});

export interface IPanelOptions {
  client: WorkscriptClient;
  commands: CommandRegistry;
  socket: WorkscriptSocket;
  translator?: ITranslator;
}

export class WorkscriptPanel extends ReactWidget {
  constructor(options: IPanelOptions) {
    super();
    this._client = options.client;
    this._commands = options.commands;
    this._socket = options.socket;
    const trans = (options.translator ?? nullTranslator).load(
      'workscript_jupyter'
    );
    this._trans = trans;
    this._confirm = dialogConfirm(trans);
    this.id = 'workscript-panel';
    this.addClass('jp-Workscript-panel');
    this.title.icon = workscriptIcon;
    this.title.caption = trans.__('Workscript');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Workscript panel'));
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._shown) {
      this._shown = true;
      this.update();
    }
  }

  /** Read the list of `kind` again (a tab stored or deleted such a record). */
  recordsChanged(kind: RecordKind): void {
    this._changes.emit(kind);
  }

  /** Bring the Runs section into view (the status bar item's click). */
  showRuns(): void {
    const runs = this.node.querySelector('[data-testid="workscript-runs"]');
    runs?.scrollIntoView({ block: 'start' });
  }

  dispose(): void {
    this._socket.dispose();
    super.dispose();
  }

  protected render(): JSX.Element | null {
    if (!this._shown) {
      return null;
    }
    const props = {
      client: this._client,
      commands: this._commands,
      changes: this._changes,
      trans: this._trans
    };
    return (
      <div className="jp-Workscript-sections">
        <WorkflowsSection {...props} />
        <RunsSection {...props} socket={this._socket} />
        <AutomationsSection {...props} socket={this._socket} />
        <ConnectionsSection
          client={this._client}
          trans={this._trans}
          confirm={this._confirm}
        />
      </div>
    );
  }

  private readonly _client: WorkscriptClient;
  private readonly _commands: CommandRegistry;
  private readonly _changes = new Signal<this, RecordKind>(this);
  private readonly _socket: WorkscriptSocket;
  private readonly _trans: ReturnType<ITranslator['load']>;
  private readonly _confirm: ReturnType<typeof dialogConfirm>;
  private _shown = false;
}
