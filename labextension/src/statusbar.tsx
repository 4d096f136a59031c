/**
 * The status bar item: how many runs are going on; a click opens the Runs section.
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import type { ActivityMonitor } from './monitor';

export class RunningItem extends ReactWidget {
  constructor(
    private readonly monitor: ActivityMonitor,
    private readonly trans: TranslationBundle,
    private readonly onOpen: () => void
  ) {
    super();
    this.addClass('jp-Workscript-statusItem');
  }

  protected render(): JSX.Element {
    const { trans } = this;
    return (
      <UseSignal signal={this.monitor.runningChanged}>
        {() => {
          const count = this.monitor.running;
          const text = trans._n('%1 run going', '%1 runs going', count);
          return (
            <button
              className="jp-Workscript-statusButton"
              onClick={this.onOpen}
              title={trans.__('Workscript: %1. Open the runs', text)}
              aria-label={trans.__('Workscript: %1. Open the runs', text)}
              data-testid="workscript-status-running"
              data-count={count}
            >
              {trans.__('Workscript: %1 running', count)}
            </button>
          );
        }}
      </UseSignal>
    );
  }
}
