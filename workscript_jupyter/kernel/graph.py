"""A picture of a workflow as SVG, drawn in Python from the parsed steps.

Top-level steps form a column joined by arrows; each step's configured edges sit to its right,
with the nodes they run as chips (nested levels summarised); a jump is drawn as an arrow back
to its target step; a loop is marked ↻. The node that is running is highlighted.
"""

from __future__ import annotations

from html import escape

from ..engine import SETTER, Jump, NodeStep, Workflow

__all__ = ["workflow_svg"]

BOX_W, BOX_H, GAP, EDGE_H, CHIP_W = 190, 26, 16, 20, 96
LEFT, TOP = 36, 10
EDGE_X = LEFT + BOX_W + 24
MAX_CHIPS = 4
RUNNING_FILL, RUNNING_STROKE = "#e3f0ff", "#1a6fb5"


def _label(step: NodeStep) -> str:
    name = step.key if step.type == SETTER else step.type
    return ("↻ " if step.loop else "") + name


def _is_running(step: NodeStep, current: str) -> bool:
    return bool(current) and (current == step.path or current.startswith(step.path + "/"))


def _box(x: float, y: float, w: float, h: float, text: str, running: bool, path: str) -> str:
    fill, stroke, width = (RUNNING_FILL, RUNNING_STROKE, 2) if running else ("#fff", "#888", 1)
    clipped = text if len(text) <= w // 7 else text[: int(w // 7) - 1] + "…"
    css = " class='running'" if running else ""
    return (
        f"<g data-path='{escape(path)}'{css}>"
        f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='5' fill='{fill}' "
        f"stroke='{stroke}' stroke-width='{width}'/>"
        f"<text x='{x + 8}' y='{y + h / 2 + 4}' font-size='12' font-family='monospace'>"
        f"{escape(clipped)}</text></g>"
    )


def _step_height(step: NodeStep) -> float:
    edges = [t for t in step.edges.values() if t is not None]
    return max(BOX_H, len(edges) * EDGE_H + 6)


def workflow_svg(workflow: Workflow, current: str = "") -> str:
    """The SVG of ``workflow`` with the node at path ``current`` highlighted."""
    parts: list[str] = []
    tops: list[float] = []
    y = float(TOP)
    for step in workflow.steps:
        tops.append(y)
        y += _step_height(step) + GAP
    longest = max((len(n) for st in workflow.steps for n in st.edges), default=0)
    width = EDGE_X + 7 * longest + 22 + MAX_CHIPS * (CHIP_W + 6) + 40
    height = y + 4
    for index, step in enumerate(workflow.steps):
        top = tops[index]
        parts.append(
            _box(LEFT, top, BOX_W, BOX_H, _label(step), _is_running(step, current), step.path)
        )
        if index + 1 < len(workflow.steps):
            x = LEFT + BOX_W / 2
            parts.append(
                f"<line x1='{x}' y1='{top + BOX_H}' x2='{x}' y2='{tops[index + 1]}' "
                "stroke='#888' marker-end='url(#ws-arrow)'/>"
            )
        parts.extend(_edges(step, top, tops, current))
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' class='workscript-graph'>"
        "<defs><marker id='ws-arrow' markerWidth='8' markerHeight='8' refX='7' refY='4' "
        "orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#888'/></marker></defs>"
        + "".join(parts)
        + "</svg>"
    )


def _edges(step: NodeStep, top: float, tops: list[float], current: str) -> list[str]:
    parts: list[str] = []
    row = 0
    for name, target in step.edges.items():
        if target is None:
            continue
        y = top + row * EDGE_H + 3
        row += 1
        parts.append(
            f"<text x='{EDGE_X}' y='{y + 14}' font-size='11' fill='#555' "
            f"font-family='monospace'>{escape(name)}?</text>"
        )
        if isinstance(target, Jump):
            parts.append(_jump(top, tops[target.index], name, target.name))
            continue
        x = EDGE_X + 7 * len(name) + 22  # after the label, whatever its length
        for inner in target[:MAX_CHIPS]:
            label = _label(inner) + (" …" if any(inner.edges.values()) else "")
            parts.append(
                _box(x, y, CHIP_W, EDGE_H - 4, label, _is_running(inner, current), inner.path)
            )
            x += CHIP_W + 6
        if len(target) > MAX_CHIPS:
            parts.append(
                f"<text x='{x}' y='{y + 13}' font-size='11' fill='#555'>"
                f"+{len(target) - MAX_CHIPS}</text>"
            )
    return parts


def _jump(top: float, target_top: float, name: str, target: str) -> str:
    """A curve on the left of the column, from this step to the step it jumps to."""
    start_y, end_y = top + BOX_H / 2, target_top + BOX_H / 2
    bend = LEFT - 26
    return (
        f"<path d='M{LEFT},{start_y} C{bend},{start_y} {bend},{end_y} {LEFT},{end_y}' "
        f"fill='none' stroke='#b35c00' stroke-dasharray='4 3' marker-end='url(#ws-arrow)'>"
        f"<title>{escape(name)}? jumps to {escape(target)}</title></path>"
    )
