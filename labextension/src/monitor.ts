/**
 * Watches the user's runs for the whole Lab session (not only while the panel is open): the
 * number going on, for the status bar, and a Lab notification when one of the user's runs
 * fails, with a button that opens it. Events come from the shared WebSocket; the active runs
 * are read again every `resyncMs`, since a socket that was down may have missed ends.
 */

import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import { ISignal, Signal } from '@lumino/signaling';
import { RunActivity } from './activity';
import type { WorkscriptClient } from './api';
import { CommandIds } from './context';
import type { WorkscriptSocket } from './socket';

export interface IMonitorOptions {
  client: WorkscriptClient;
  socket: WorkscriptSocket;
  commands: CommandRegistry;
  trans: TranslationBundle;
  resyncMs?: number;
}

export class ActivityMonitor {
  constructor(private readonly options: IMonitorOptions) {}

  /** How many of the runs the user may read are queued or running. */
  get running(): number {
    return this._activity.running;
  }

  get runningChanged(): ISignal<this, number> {
    return this._runningChanged;
  }

  start(): void {
    if (this._started) {
      return;
    }
    this._started = true;
    const { client, socket } = this.options;
    this._removeListener = socket.onEvent(event => {
      const before = this._activity.running;
      const failure = this._activity.apply(event);
      this._emitIfChanged(before);
      if (failure) {
        this._notify(failure.executionId, failure.message, failure.nodePath);
      }
    });
    socket.subscribe('executions');
    socket.connect();
    client
      .me()
      .then(me => this._activity.setUser(me.id))
      .catch(() => undefined);
    void this._resync();
    this._timer = setInterval(
      () => void this._resync(),
      this.options.resyncMs ?? 30_000
    );
  }

  dispose(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
    if (this._started) {
      this._removeListener?.();
      this.options.socket.unsubscribe('executions');
    }
    Signal.clearData(this);
  }

  private async _resync(): Promise<void> {
    try {
      const page = await this.options.client.listExecutions({
        status: ['queued', 'running'],
        limit: 200
      });
      const before = this._activity.running;
      this._activity.reset(page.items);
      this._emitIfChanged(before);
    } catch {
      // the server is down or refuses: the count stays what events made it
    }
  }

  private _emitIfChanged(before: number): void {
    if (this._activity.running !== before) {
      this._runningChanged.emit(this._activity.running);
    }
  }

  private _notify(id: string, message: string, nodePath: string | null): void {
    const { commands, trans } = this.options;
    Notification.error(
      nodePath
        ? trans.__('Workscript run failed at %1: %2', nodePath, message)
        : trans.__('Workscript run failed: %1', message),
      {
        autoClose: false,
        actions: [
          {
            label: trans.__('Open run'),
            caption: trans.__('Open the run that failed'),
            callback: () => void commands.execute(CommandIds.openRun, { id })
          }
        ]
      }
    );
  }

  private readonly _activity = new RunActivity();
  private readonly _runningChanged = new Signal<this, number>(this);
  private _removeListener: (() => void) | null = null;
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _started = false;
}
