/**
 * The JupyterLab plugin of Workscript. It puts the Workscript panel in the left sidebar, adds
 * the commands that open the editor, run and automation tabs (palette, launcher, keyboard
 * shortcut, the notebook's "Schedule this notebook"), a status bar item counting the runs
 * going on, and notifications of failed runs. The REST and WebSocket clients are made from
 * the app's own server settings (base URL, token, XSRF), so all of it works behind
 * JupyterHub's prefixes as Lab's own requests do.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { ToolbarButton } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';
import { WorkscriptClient } from './api';
import { createAutomationEditor, parametersOfNotebook } from './automations';
import { CommandIds, INewAutomationArgs, IWorkscriptContext } from './context';
import { createWorkflowEditor } from './editor';
import { ActivityMonitor } from './monitor';
import { WorkscriptPanel, workscriptIcon } from './panel';
import { createRunView } from './runview';
import { WorkscriptSocket } from './socket';
import { RunningItem } from './statusbar';

export { WorkscriptClient, WorkscriptError } from './api';
export { CommandIds } from './context';
export { WorkscriptSocket } from './socket';

/** The open main-area tab of this id, activated; else a new one made by `create`. */
function openTab(
  app: JupyterFrontEnd,
  id: string,
  create: () => MainAreaWidget
): Widget {
  for (const widget of app.shell.widgets('main')) {
    if (widget.id === id) {
      app.shell.activateById(id);
      return widget;
    }
  }
  const widget = create();
  app.shell.add(widget, 'main');
  app.shell.activateById(widget.id);
  return widget;
}

function idArg(args: Record<string, unknown>, command: string): string {
  const id = args.id;
  if (typeof id !== 'string' || !id) {
    throw new Error(`${command} needs an "id" argument`);
  }
  return id;
}

/** The cells of a notebook that is not open, read through the contents API. */
async function notebookCells(
  app: JupyterFrontEnd,
  path: string
): Promise<any[]> {
  const model = await app.serviceManager.contents.get(path, { content: true });
  const content = model.content as { cells?: unknown } | null;
  return Array.isArray(content?.cells) ? (content.cells as any[]) : [];
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'workscript-jupyter-labextension:plugin',
  description:
    'The Workscript sidebar, editor, run view and automation form: workflows, runs and automations, live.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    ITranslator,
    IEditorServices,
    ILauncher,
    IStatusBar,
    INotebookTracker
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    editorServices: IEditorServices | null,
    launcher: ILauncher | null,
    statusBar: IStatusBar | null,
    notebooks: INotebookTracker | null
  ) => {
    const trans = (translator ?? nullTranslator).load('workscript_jupyter');
    const settings = app.serviceManager.serverSettings;
    const client = new WorkscriptClient(settings);
    const socket = new WorkscriptSocket({ settings });
    const ctx: IWorkscriptContext = {
      app,
      client,
      socket,
      trans,
      editorServices
    };
    const { commands } = app;
    const panel = new WorkscriptPanel({
      client,
      commands,
      socket,
      translator: translator ?? nullTranslator
    });
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, panel.id);

    commands.addCommand(CommandIds.openPanel, {
      label: trans.__('Workscript: open panel'),
      caption: trans.__(
        'Show the Workscript panel: workflows, runs and automations'
      ),
      icon: workscriptIcon,
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    commands.addCommand(CommandIds.openRuns, {
      label: trans.__('Workscript: show runs'),
      icon: workscriptIcon,
      execute: () => {
        app.shell.activateById(panel.id);
        // the sections render on first show: let them mount before scrolling
        requestAnimationFrame(() => panel.showRuns());
      }
    });
    commands.addCommand(CommandIds.recordsChanged, {
      label: trans.__('Workscript: read the lists again'),
      execute: args => {
        const kind = args.kind;
        if (kind === 'workflows' || kind === 'automations') {
          panel.recordsChanged(kind);
        }
      }
    });
    commands.addCommand(CommandIds.newWorkflow, {
      label: args =>
        args.isLauncher
          ? trans.__('Workflow')
          : trans.__('Workscript: new workflow'),
      caption: trans.__('Write a new Workscript workflow'),
      icon: workscriptIcon,
      execute: () => {
        const widget = createWorkflowEditor(ctx, null);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
      }
    });
    commands.addCommand(CommandIds.openWorkflow, {
      label: trans.__('Workscript: open workflow'),
      icon: workscriptIcon,
      execute: args => {
        const id = idArg(args, CommandIds.openWorkflow);
        openTab(app, `workscript-workflow-${id}`, () =>
          createWorkflowEditor(ctx, id)
        );
      }
    });
    commands.addCommand(CommandIds.openRun, {
      label: trans.__('Workscript: open run'),
      icon: workscriptIcon,
      execute: args => {
        const id = idArg(args, CommandIds.openRun);
        openTab(app, `workscript-run-${id}`, () => createRunView(ctx, id));
      }
    });
    commands.addCommand(CommandIds.openAutomation, {
      label: trans.__('Workscript: open automation'),
      icon: workscriptIcon,
      execute: args => {
        const id = idArg(args, CommandIds.openAutomation);
        openTab(app, `workscript-automation-${id}`, () =>
          createAutomationEditor(ctx, { id })
        );
      }
    });
    commands.addCommand(CommandIds.newAutomation, {
      label: args =>
        args.isLauncher
          ? trans.__('Automation')
          : trans.__('Workscript: new automation'),
      caption: trans.__('Schedule a workflow or a notebook'),
      icon: workscriptIcon,
      execute: args => {
        const prefill = args as INewAutomationArgs;
        const widget = createAutomationEditor(ctx, {
          prefill: {
            workflowId: prefill.workflowId,
            notebookPath: prefill.notebookPath,
            parameters: prefill.parameters
          }
        });
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
      }
    });

    // "Schedule this notebook": the open notebook (toolbar, context menu, palette) or a
    // notebook of the file browser (its context menu passes no path: the selection's)
    const currentNotebookPath = (): string | null =>
      notebooks?.currentWidget?.context.path ?? null;
    commands.addCommand(CommandIds.scheduleNotebook, {
      label: trans.__('Schedule this notebook'),
      caption: trans.__(
        'Open a Workscript automation form for this notebook and its parameters'
      ),
      icon: workscriptIcon,
      isEnabled: args =>
        typeof args.path === 'string' || currentNotebookPath() !== null,
      execute: async args => {
        const path =
          typeof args.path === 'string' ? args.path : currentNotebookPath();
        if (!path) {
          return;
        }
        const open = notebooks?.find(nb => nb.context.path === path);
        const model = open?.content.model;
        const cells = model
          ? (model.toJSON() as { cells: any[] }).cells
          : await notebookCells(app, path);
        await commands.execute(CommandIds.newAutomation, {
          notebookPath: path,
          parameters: parametersOfNotebook(cells) as any
        });
      }
    });
    app.contextMenu.addItem({
      command: CommandIds.scheduleNotebook,
      selector: '.jp-Notebook',
      rank: 100
    });
    notebooks?.widgetAdded.connect((_, notebook) => {
      const button = new ToolbarButton({
        icon: workscriptIcon,
        tooltip: trans.__('Schedule this notebook'),
        className: 'jp-Workscript-scheduleButton',
        onClick: () =>
          void commands.execute(CommandIds.scheduleNotebook, {
            path: notebook.context.path
          })
      });
      button.node.setAttribute('data-testid', 'workscript-schedule-notebook');
      notebook.toolbar.insertAfter('cellType', 'workscript-schedule', button);
    });

    commands.addKeyBinding({
      command: CommandIds.openPanel,
      // Accel Shift U is the property inspector's, Accel Shift K the table of contents'
      keys: ['Accel Alt Shift W'],
      selector: 'body'
    });
    const category = trans.__('Workscript');
    for (const command of [
      CommandIds.openPanel,
      CommandIds.openRuns,
      CommandIds.newWorkflow,
      CommandIds.newAutomation,
      CommandIds.scheduleNotebook
    ]) {
      palette?.addItem({ command, category });
    }
    launcher?.add({ command: CommandIds.newWorkflow, category, rank: 1 });
    launcher?.add({ command: CommandIds.newAutomation, category, rank: 2 });

    const monitor = new ActivityMonitor({ client, socket, commands, trans });
    if (statusBar) {
      statusBar.registerStatusItem('workscript-jupyter-labextension:running', {
        item: new RunningItem(
          monitor,
          trans,
          () => void commands.execute(CommandIds.openRuns)
        ),
        align: 'left',
        rank: 50
      });
    }
    // the count and the failure notifications need the socket from the start; a Lab with no
    // server extension (404) just shows 0 and keeps trying in the background
    void app.restored.then(() => monitor.start());
  }
};

export default plugin;
