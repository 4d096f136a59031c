/**
 * The run view's shared pieces: its props, a titled section, name and value pairs, and the
 * error line under the header's buttons.
 */

import * as React from 'react';
import type { IWorkscriptContext } from '../context';
import type { RunModel } from './model';

export interface IRunViewProps {
  model: RunModel;
  /** The app's commands and the translations; the model does the I/O. */
  ctx: Pick<IWorkscriptContext, 'app' | 'trans'>;
}

/** One section of the view: its name (also its heading, unless `title` is given) and body. */
export function RunSection(props: {
  label: string;
  title?: React.ReactNode;
  className?: string;
  testId?: string;
  role?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section
      className={`jp-Workscript-runSection ${props.className ?? ''}`.trim()}
      aria-label={props.label}
      data-testid={props.testId}
      role={props.role}
    >
      <h3 className="jp-Workscript-runSectionTitle">
        {props.title ?? props.label}
      </h3>
      {props.children}
    </section>
  );
}

/** Name and value pairs (the values in code type when `code`). */
export function Facts(props: {
  rows: [string, React.ReactNode][];
  code?: boolean;
}): JSX.Element {
  return (
    <dl className="jp-Workscript-runFacts">
      {props.rows.map(([name, value]) => (
        <div key={name} className="jp-Workscript-runFact">
          <dt>{name}</dt>
          <dd>{props.code ? <code>{value}</code> : value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A failed action or refresh, under the header's buttons. */
export function ActionError(props: {
  testId: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <div
      className="jp-Workscript-error jp-Workscript-runActionError"
      role="alert"
      data-testid={props.testId}
    >
      {props.children}
    </div>
  );
}
