"""A picture of a workflow as SVG, drawn from the parsed steps.

One drawing for every front end: the kernel's RunMonitor shows it live, and the server answers
it at ``GET /workscript/workflows/{id}/graph`` and ``POST /workscript/workflows/graph`` for the
JupyterLab panel. Pure: the standard library and the parsed ``Workflow``, nothing else.

Top-level steps form a column joined by arrows; each step's configured edges sit to its right,
with the nodes they run as chips (nested levels summarised); a jump is drawn as an arrow to its
target step; a loop is marked ↻. The node that is running is highlighted.

Styling. Every shape has a class, so a host page can restyle it (a CSS rule beats an SVG
presentation attribute): the ``<svg>`` is ``workscript-graph``; a node is a
``<g class="ws-node ws-step|ws-chip [ws-running]" data-path="<JSON pointer>">`` holding a
``rect.ws-box`` and a ``text.ws-label``; the column's arrows are ``line.ws-edge``, an edge's
name ``text.ws-edge-label``, a jump ``path.ws-jump``, the arrowheads ``path.ws-arrowhead`` and
the notes of what was left out ``text.ws-more``. The colours are presentation attributes from a
palette: ``LIGHT`` (the RunMonitor's, the default) or ``DARK`` (``theme="dark"``), for a page
that shows the SVG where its own CSS cannot reach (an ``<img>``).

Safety and size. Every text and attribute from the document goes through ``html.escape``, so a
node name like ``<script>`` is text, never markup. The drawing is bounded whatever the document:
at most ``MAX_STEPS`` top-level steps, ``MAX_EDGES`` edges a step and ``MAX_CHIPS`` chips an
edge are drawn (the rest are counted: "… 12 more steps", "+3 more edges", "+2"), labels are
clipped, paths are cut at ``MAX_PATH_CHARS``, and steps stop being added once the drawing
passes ``MAX_DRAWN_CHARS``, so no SVG is over about 700 KB (a plain 200-step workflow is
well under it; only steps full of edges and chips, or names built to swell when escaped,
reach it).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Final

from .model import SETTER, Jump, NodeStep, Workflow

__all__ = [
    "DARK",
    "LIGHT",
    "MAX_CHIPS",
    "MAX_DRAWN_CHARS",
    "MAX_EDGES",
    "MAX_STEPS",
    "THEMES",
    "Palette",
    "workflow_svg",
]

BOX_W, BOX_H, GAP, EDGE_H, CHIP_W = 190, 26, 16, 20, 96
LEFT, TOP = 36, 10
EDGE_X = LEFT + BOX_W + 24
NOTE_H = 20

MAX_STEPS: Final = 200  # top-level steps drawn; the rest are a "… N more steps" note
MAX_EDGES: Final = 8  # edge rows drawn per step; the rest are "+N more edges"
MAX_CHIPS: Final = 4  # chips drawn per edge; the rest are "+N"
MAX_EDGE_LABEL: Final = 40  # characters of an edge's name (and of a jump's names)
MAX_PATH_CHARS: Final = 200  # characters of a node's JSON pointer in data-path
MAX_DRAWN_CHARS: Final = 600_000  # no step is added past this; one step adds ~65 KB at most


@dataclass(frozen=True, slots=True)
class Palette:
    """The colours the drawing writes as presentation attributes."""

    box_fill: str
    box_stroke: str
    text: str
    edge_label: str
    line: str
    running_fill: str
    running_stroke: str
    jump: str


LIGHT: Final = Palette(
    box_fill="#fff",
    box_stroke="#888",
    text="#000",
    edge_label="#555",
    line="#888",
    running_fill="#e3f0ff",
    running_stroke="#1a6fb5",
    jump="#b35c00",
)
DARK: Final = Palette(
    box_fill="#2b2b2b",
    box_stroke="#9a9a9a",
    text="#e8e8e8",
    edge_label="#bdbdbd",
    line="#9a9a9a",
    running_fill="#123a5c",
    running_stroke="#5aa9e6",
    jump="#f0a050",
)
THEMES: Final = {"light": LIGHT, "dark": DARK}


def workflow_svg(workflow: Workflow, current: str = "", *, theme: str = "light") -> str:
    """The SVG of ``workflow`` with the node at path ``current`` highlighted, in the colours
    of ``theme`` (a name of ``THEMES``)."""
    palette = THEMES.get(theme)
    if palette is None:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {theme!r}")
    return _Drawing(workflow, current, palette).svg()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(step: NodeStep) -> str:
    name = step.key if step.type == SETTER else step.type
    return ("↻ " if step.loop else "") + name


def _is_running(step: NodeStep, current: str) -> bool:
    return bool(current) and (current == step.path or current.startswith(step.path + "/"))


def _drawn_edges(step: NodeStep) -> tuple[list[tuple[str, Jump | tuple[NodeStep, ...]]], int]:
    """The edges of ``step`` that get a row (at most MAX_EDGES) and how many more there are."""
    rows = [(name, target) for name, target in step.edges.items() if target is not None]
    return rows[:MAX_EDGES], max(0, len(rows) - MAX_EDGES)


def _step_height(step: NodeStep) -> float:
    rows, more = _drawn_edges(step)
    return max(BOX_H, (len(rows) + (1 if more else 0)) * EDGE_H + 6)


@dataclass(slots=True)
class _PendingJump:
    top: float
    target: int
    name: str
    target_name: str


class _Drawing:
    def __init__(self, workflow: Workflow, current: str, palette: Palette) -> None:
        self.workflow = workflow
        self.current = current
        self.palette = palette

    def svg(self) -> str:
        steps = self.workflow.steps[:MAX_STEPS]
        tops: list[float] = []
        y = float(TOP)
        for step in steps:
            tops.append(y)
            y += _step_height(step) + GAP
        tops.append(y)  # where whatever comes after the drawn steps goes

        parts: list[str] = []
        jumps: list[_PendingJump] = []
        drawn_chars = 0
        shown = 0
        for index, step in enumerate(steps):
            if drawn_chars > MAX_DRAWN_CHARS:
                break
            before = len(jumps)
            step_parts = self._step(step, tops[index], jumps)
            drawn_chars += sum(map(len, step_parts))
            drawn_chars += sum(len(self._jump(j, tops[index])) for j in jumps[before:])
            drawn_chars += len(self._line(tops[index], tops[index + 1]))
            parts.extend(step_parts)
            shown = index + 1
        hidden = len(self.workflow.steps) - shown
        note_y = tops[shown]

        for index in range(shown):  # the column: an arrow from each step to the next
            if index + 1 < shown or hidden:
                parts.append(self._line(tops[index], tops[index + 1]))
        for jump in jumps:
            target_y = tops[jump.target] + BOX_H / 2 if jump.target < shown else note_y + 6
            parts.append(self._jump(jump, target_y))
        height = note_y + 4
        if hidden:
            parts.append(
                f"<text class='ws-more' x='{LEFT}' y='{note_y + 12}' font-size='12' "
                f"fill='{self.palette.edge_label}' font-family='monospace'>"
                f"… {hidden} more step{'s' if hidden != 1 else ''}</text>"
            )
            height += NOTE_H

        longest = max(
            (
                len(_clip(name, MAX_EDGE_LABEL))
                for st in steps[:shown]
                for name, _ in _drawn_edges(st)[0]
            ),
            default=0,
        )
        width = EDGE_X + 7 * longest + 22 + MAX_CHIPS * (CHIP_W + 6) + 40
        line = self.palette.line
        return (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' class='workscript-graph'>"
            "<defs><marker id='ws-arrow' markerWidth='8' markerHeight='8' refX='7' refY='4' "
            f"orient='auto'><path class='ws-arrowhead' d='M0,0 L8,4 L0,8 z' fill='{line}'/>"
            "</marker></defs>" + "".join(parts) + "</svg>"
        )

    # -- shapes ------------------------------------------------------------------------------

    def _box(
        self, x: float, y: float, w: float, h: float, step: NodeStep, text: str, kind: str
    ) -> str:
        palette = self.palette
        running = _is_running(step, self.current)
        if running:
            fill, stroke, width = palette.running_fill, palette.running_stroke, 2
        else:
            fill, stroke, width = palette.box_fill, palette.box_stroke, 1
        clipped = _clip(text, int(w // 7))
        css = f"ws-node {kind}" + (" ws-running" if running else "")
        path = _clip(step.path, MAX_PATH_CHARS)
        return (
            f"<g data-path='{escape(path)}' class='{css}'>"
            f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='5' class='ws-box' "
            f"fill='{fill}' stroke='{stroke}' stroke-width='{width}'/>"
            f"<text x='{x + 8}' y='{y + h / 2 + 4}' class='ws-label' font-size='12' "
            f"fill='{palette.text}' font-family='monospace'>{escape(clipped)}</text></g>"
        )

    def _line(self, top: float, next_top: float) -> str:
        x = LEFT + BOX_W / 2
        return (
            f"<line x1='{x}' y1='{top + BOX_H}' x2='{x}' y2='{next_top}' class='ws-edge' "
            f"stroke='{self.palette.line}' marker-end='url(#ws-arrow)'/>"
        )

    def _step(self, step: NodeStep, top: float, jumps: list[_PendingJump]) -> list[str]:
        parts = [self._box(LEFT, top, BOX_W, BOX_H, step, _label(step), "ws-step")]
        muted = self.palette.edge_label
        rows, more = _drawn_edges(step)
        for row, (full_name, target) in enumerate(rows):
            name = _clip(full_name, MAX_EDGE_LABEL)
            y = top + row * EDGE_H + 3
            parts.append(
                f"<text x='{EDGE_X}' y='{y + 14}' class='ws-edge-label' font-size='11' "
                f"fill='{muted}' font-family='monospace'>{escape(name)}?</text>"
            )
            if isinstance(target, Jump):
                jumps.append(_PendingJump(top, target.index, name, target.name))
                continue
            x = EDGE_X + 7 * len(name) + 22  # after the label, whatever its length
            for inner in target[:MAX_CHIPS]:
                label = _label(inner) + (" …" if any(inner.edges.values()) else "")
                parts.append(self._box(x, y, CHIP_W, EDGE_H - 4, inner, label, "ws-chip"))
                x += CHIP_W + 6
            if len(target) > MAX_CHIPS:
                parts.append(
                    f"<text x='{x}' y='{y + 13}' class='ws-more' font-size='11' "
                    f"fill='{muted}'>+{len(target) - MAX_CHIPS}</text>"
                )
        if more:
            y = top + len(rows) * EDGE_H + 3
            parts.append(
                f"<text x='{EDGE_X}' y='{y + 14}' class='ws-more' font-size='11' "
                f"fill='{muted}' font-family='monospace'>+{more} more edges</text>"
            )
        return parts

    def _jump(self, jump: _PendingJump, target_y: float) -> str:
        """A curve on the left of the column, from a step to the step it jumps to."""
        start_y, end_y = jump.top + BOX_H / 2, target_y
        bend = LEFT - 26
        target = _clip(jump.target_name, MAX_EDGE_LABEL)
        return (
            f"<path d='M{LEFT},{start_y} C{bend},{start_y} {bend},{end_y} {LEFT},{end_y}' "
            f"class='ws-jump' fill='none' stroke='{self.palette.jump}' stroke-dasharray='4 3' "
            f"marker-end='url(#ws-arrow)'>"
            f"<title>{escape(jump.name)}? jumps to {escape(target)}</title></path>"
        )
