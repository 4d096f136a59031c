/**
 * A collapsible JSON tree: each object or array is a disclosure button (aria-expanded; Enter,
 * Space, ArrowRight / ArrowLeft open and close it) over its children, shown 100 at a time with
 * "Show more". The logic (kinds, previews, paging, truncation) is in jsontree.ts.
 */

import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  childrenOf,
  CHILD_PAGE,
  isExpandable,
  kindOf,
  leafText,
  nextShown,
  sizeOf,
  startsExpanded
} from './jsontree';

export interface IJsonTreeProps {
  value: unknown;
  /** The root's name (e.g. "finalState"). */
  label: string;
  /** Whether the root starts expanded (its children always start collapsed). */
  expanded: boolean;
  trans: TranslationBundle;
  testId?: string;
}

export function JsonTree(props: IJsonTreeProps): JSX.Element {
  return (
    <div className="jp-Workscript-jsonTree" data-testid={props.testId}>
      <ul className="jp-Workscript-jsonList">
        <JsonNode
          name={props.label}
          value={props.value}
          depth={0}
          rootExpanded={props.expanded}
          trans={props.trans}
        />
      </ul>
    </div>
  );
}

function summary(value: unknown, trans: TranslationBundle): string {
  const size = sizeOf(value);
  return kindOf(value) === 'array'
    ? trans._n('[%1 item]', '[%1 items]', size)
    : trans._n('{%1 key}', '{%1 keys}', size);
}

function JsonNode(props: {
  name: string;
  value: unknown;
  depth: number;
  rootExpanded: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { name, value, depth, trans } = props;
  const [expanded, setExpanded] = React.useState(
    startsExpanded(depth, props.rootExpanded)
  );
  const [shown, setShown] = React.useState(CHILD_PAGE);

  if (!isExpandable(value)) {
    const leaf = leafText(value);
    return (
      <li className="jp-Workscript-jsonRow">
        <span className="jp-Workscript-jsonLeaf">
          <span className="jp-Workscript-jsonKey">{name}</span>
          <span className="jp-Workscript-jsonColon">: </span>
          <span
            className={`jp-Workscript-jsonValue jp-Workscript-json-${kindOf(value)}`}
            title={leaf.title ?? undefined}
          >
            {leaf.text}
          </span>
        </span>
      </li>
    );
  }

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === 'ArrowRight' && !expanded) {
      event.preventDefault();
      setExpanded(true);
    } else if (event.key === 'ArrowLeft' && expanded) {
      event.preventDefault();
      setExpanded(false);
    }
  };
  const children = expanded ? childrenOf(value, shown) : null;
  return (
    <li className="jp-Workscript-jsonRow">
      <button
        type="button"
        className="jp-Workscript-jsonToggle"
        aria-expanded={expanded}
        onClick={() => setExpanded(!expanded)}
        onKeyDown={onKeyDown}
      >
        <span className="jp-Workscript-jsonCaret" aria-hidden="true">
          {expanded ? '▾' : '▸'}
        </span>
        <span className="jp-Workscript-jsonKey">{name}</span>
        <span className="jp-Workscript-jsonColon">: </span>
        <span className="jp-Workscript-jsonSummary">
          {summary(value, trans)}
        </span>
      </button>
      {children && (
        <ul className="jp-Workscript-jsonList">
          {children.entries.map(([key, child]) => (
            <JsonNode
              key={key}
              name={key}
              value={child}
              depth={depth + 1}
              rootExpanded={props.rootExpanded}
              trans={trans}
            />
          ))}
          {children.hidden > 0 && (
            <li className="jp-Workscript-jsonRow">
              <button
                type="button"
                className="jp-Workscript-button jp-Workscript-jsonMore"
                onClick={() => setShown(nextShown(shown, children.total))}
              >
                {trans.__(
                  'Show %1 more (%2 of %3 shown)',
                  Math.min(CHILD_PAGE, children.hidden),
                  children.entries.length,
                  children.total
                )}
              </button>
            </li>
          )}
        </ul>
      )}
    </li>
  );
}
