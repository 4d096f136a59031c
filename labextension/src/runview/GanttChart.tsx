/**
 * The node timeline as a Gantt chart of plain divs: one row per node run (its path and type),
 * a bar placed by percentages (no measuring, so it follows the tab's width), a time axis on
 * top. The arithmetic is in gantt.ts.
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { IGanttEntry, layoutGantt } from './gantt';

export interface IGanttProps {
  entries: readonly IGanttEntry[];
  runStartedAt: string | null;
  /** Epoch ms: where the bar of a node still running ends. */
  nowMs: number;
  /** The entries come from the live events (the newest rows are kept). */
  live: boolean;
  trans: TranslationBundle;
  maxRows?: number;
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(3)}%`;

export function Gantt(props: IGanttProps): JSX.Element {
  const { trans } = props;
  const layout = React.useMemo(
    () =>
      layoutGantt(props.entries, {
        runStartedAt: props.runStartedAt,
        nowMs: props.nowMs,
        keep: props.live ? 'last' : 'first',
        maxRows: props.maxRows,
        runningText: trans.__('running')
      }),
    [
      props.entries,
      props.runStartedAt,
      props.nowMs,
      props.live,
      props.maxRows,
      trans
    ]
  );
  const more =
    layout.hidden > 0 ? (
      <div className="jp-Workscript-ganttMore" role="note">
        {props.live
          ? trans._n(
              '%1 earlier node run not shown',
              '%1 earlier node runs not shown',
              layout.hidden
            )
          : trans._n(
              '%1 more node run not shown',
              '%1 more node runs not shown',
              layout.hidden
            )}
      </div>
    ) : null;
  return (
    <div className="jp-Workscript-gantt">
      <div className="jp-Workscript-ganttRow jp-Workscript-ganttAxisRow">
        <span className="jp-Workscript-ganttLabel jp-Workscript-ganttHead">
          {trans._n('%1 node run', '%1 node runs', layout.total)}
          {layout.failedCount > 0 &&
            ` · ${trans._n('%1 failed', '%1 failed', layout.failedCount)}`}
        </span>
        <span className="jp-Workscript-ganttAxis" aria-hidden="true">
          {layout.ticks.map(tick => (
            <span
              key={tick.ms}
              className="jp-Workscript-ganttTick"
              style={{ left: percent(tick.at) }}
            >
              {tick.label}
            </span>
          ))}
        </span>
      </div>
      {props.live && more}
      <ol
        className="jp-Workscript-ganttRows"
        aria-label={trans.__('Node timeline')}
      >
        {layout.bars.map(bar => {
          const classes = ['jp-Workscript-ganttBar'];
          if (bar.failed) {
            classes.push('jp-Workscript-ganttBar-failed');
          }
          if (bar.running) {
            classes.push('jp-Workscript-ganttBar-running');
          }
          if (bar.estimated) {
            classes.push('jp-Workscript-ganttBar-estimated');
          }
          const details = [
            bar.label,
            bar.edge ? trans.__('edge: %1', bar.edge) : '',
            bar.error ? trans.__('error: %1', bar.error) : '',
            bar.estimated ? trans.__('start not recorded') : ''
          ].filter(Boolean);
          return (
            <li
              key={bar.index}
              className="jp-Workscript-ganttRow"
              data-node-path={bar.path}
            >
              <span className="jp-Workscript-ganttLabel" title={bar.path}>
                {bar.failed && (
                  <span
                    className="jp-Workscript-ganttFailed"
                    role="img"
                    aria-label={trans.__('failed')}
                  >
                    ✕
                  </span>
                )}
                <span className="jp-Workscript-ganttPath">{bar.path}</span>
                <span className="jp-Workscript-ganttType">{bar.type}</span>
              </span>
              <span className="jp-Workscript-ganttTrack">
                <span
                  className={classes.join(' ')}
                  role="img"
                  aria-label={bar.label}
                  title={details.join('\n')}
                  style={{ left: percent(bar.left), width: percent(bar.width) }}
                />
              </span>
            </li>
          );
        })}
      </ol>
      {!props.live && more}
    </div>
  );
}
