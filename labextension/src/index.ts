/**
 * The JupyterLab plugin of Workscript: it puts the Workscript panel in the left sidebar and
 * adds the "Workscript: open panel" command to the palette with a keyboard shortcut. The REST
 * and WebSocket clients are made from the app's own server settings (base URL, token, XSRF),
 * so the panel works behind JupyterHub's prefixes as Lab's own requests do.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { WorkscriptClient } from './api';
import { WorkscriptPanel, workscriptIcon } from './panel';
import { WorkscriptSocket } from './socket';

export { WorkscriptClient, WorkscriptError } from './api';
export { WorkscriptSocket } from './socket';

export const CommandIds = {
  openPanel: 'workscript:open-panel'
} as const;

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'workscript-jupyter-labextension:plugin',
  description: 'The Workscript sidebar: workflows, runs and automations, live.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('workscript_jupyter');
    const settings = app.serviceManager.serverSettings;
    const client = new WorkscriptClient(settings);
    const socket = new WorkscriptSocket({ settings });
    const panel = new WorkscriptPanel({
      client,
      socket,
      translator: translator ?? nullTranslator
    });
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, panel.id);

    app.commands.addCommand(CommandIds.openPanel, {
      label: trans.__('Workscript: open panel'),
      caption: trans.__(
        'Show the Workscript panel: workflows, runs and automations'
      ),
      icon: workscriptIcon,
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    app.commands.addKeyBinding({
      command: CommandIds.openPanel,
      // Accel Shift U is the property inspector's, Accel Shift K the table of contents'
      keys: ['Accel Alt Shift W'],
      selector: 'body'
    });
    palette?.addItem({
      command: CommandIds.openPanel,
      category: trans.__('Workscript')
    });
  }
};

export default plugin;
