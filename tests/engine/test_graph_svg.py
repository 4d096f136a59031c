"""engine/graph_svg.py: the classes a page restyles, the themes, and the bounds that hold
whatever the document (the drawing's layout itself: tests/kernel/test_graph_and_summary.py)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from workscript_jupyter.engine import Workflow, load_workflow
from workscript_jupyter.engine.graph_svg import (
    DARK,
    LIGHT,
    MAX_CHIPS,
    MAX_EDGE_LABEL,
    MAX_EDGES,
    MAX_STEPS,
    workflow_svg,
)
from workscript_jupyter.nodes import builtin_registry

REGISTRY = builtin_registry(plugins=False)
HOSTILE = "'\"<>&" * 100  # 500 characters, each escaped to 4-6


def workflow(*steps: Any) -> Workflow:
    document = {"id": "g", "name": "g", "version": "1.0.0", "workflow": list(steps)}
    return load_workflow(document, REGISTRY)


def log(message: str = "x", **edges: Any) -> dict[str, Any]:
    return {"log": {"message": message, **{f"{name}?": t for name, t in edges.items()}}}


def step_boxes(svg: str) -> list[str]:
    return re.findall(r"<g data-path='([^']*)' class='ws-node ws-step", svg)


def test_every_shape_has_its_class() -> None:
    svg = workflow_svg(
        workflow(
            {"$.target": 1},
            log(success=[log(), log()], error="$.target"),
        ),
        "/workflow/1/log/success?/0/log",
    )
    assert "class='workscript-graph'" in svg
    assert len(step_boxes(svg)) == 2
    assert svg.count("class='ws-node ws-chip") == 2
    assert svg.count("ws-running") == 2, "the chip and its step"
    assert svg.count("class='ws-box'") == 4 and svg.count("class='ws-label'") == 4
    assert svg.count("class='ws-edge'") == 1, "one arrow between the two steps"
    assert svg.count("class='ws-edge-label'") == 2
    assert svg.count("class='ws-jump'") == 1
    assert "class='ws-arrowhead'" in svg


def test_light_is_the_default_and_dark_changes_every_colour() -> None:
    flow = workflow(log(success=[log()]), {"$.done": True})
    light, dark = (
        workflow_svg(flow, "/workflow/0/log"),
        workflow_svg(flow, "/workflow/0/log", theme="dark"),
    )
    assert workflow_svg(flow, "/workflow/0/log", theme="light") == light
    for colour in (LIGHT.box_fill, LIGHT.running_fill, LIGHT.text, LIGHT.line):
        assert f"'{colour}'" in light and f"'{colour}'" not in dark, colour
    for colour in (DARK.box_fill, DARK.running_fill, DARK.text, DARK.line):
        assert f"'{colour}'" in dark, colour
    with pytest.raises(ValueError, match="theme must be one of light, dark, not 'blue'"):
        workflow_svg(flow, theme="blue")


def test_past_max_steps_the_rest_is_counted() -> None:
    steps = [{f"$.s{n}": n} for n in range(MAX_STEPS + 37)]
    steps[0] = log(again=f"$.s{MAX_STEPS + 30}")  # a jump to a step that is not drawn
    svg = workflow_svg(workflow(*steps))
    assert len(step_boxes(svg)) == MAX_STEPS
    assert ">… 37 more steps</text>" in svg
    assert svg.count("class='ws-edge'") == MAX_STEPS, "the last arrow points at the note"
    note_y = float(re.search(r"<text class='ws-more' x='36' y='([\d.]+)'", svg).group(1))
    jump_end = float(re.search(r"<path d='M36,[\d.]+ C10,[\d.]+ 10,([\d.]+) 36", svg).group(1))
    assert abs(jump_end - (note_y - 6)) < 0.01, "a jump past the drawn steps ends at the note"
    height = float(re.search(r"height='([\d.]+)'", svg).group(1))
    assert height > note_y
    one_more = workflow_svg(workflow(*steps[: MAX_STEPS + 1]))
    assert ">… 1 more step</text>" in one_more
    assert "more step" not in workflow_svg(workflow(*steps[1 : MAX_STEPS + 1]))


def test_past_max_edges_and_max_chips_the_rest_is_counted() -> None:
    edges = {f"e{n}": [log() for _ in range(MAX_CHIPS + 2)] for n in range(MAX_EDGES + 3)}
    svg = workflow_svg(workflow(log(**edges)))
    assert svg.count("class='ws-edge-label'") == MAX_EDGES
    assert ">+3 more edges</text>" in svg
    assert svg.count("ws-chip") == MAX_EDGES * MAX_CHIPS
    assert svg.count(">+2</text>") == MAX_EDGES


def test_a_hostile_document_stays_small_and_escaped() -> None:
    """Long names of characters that escaping multiplies, on as many steps and edges as a
    document may have: the drawing stays far under a megabyte and holds no markup of theirs."""
    # first a jump (its title names the edge and the target), then more edges than are drawn
    edges: dict[str, Any] = {HOSTILE: f"$.{'j' * 300}"}
    edges.update({f"{HOSTILE}{n}": [log(), log()] for n in range(MAX_EDGES + 2)})
    steps = [log(**edges) for _ in range(MAX_STEPS + 50)]
    steps.append({f"$.{'j' * 300}": 1})
    flow = load_workflow(
        {"id": "h", "name": "h", "version": "1.0.0", "workflow": steps},
        REGISTRY,
    )
    svg = workflow_svg(flow)
    # (booleans, not the 600 KB string: pytest would spend minutes diffing it on a failure)
    assert len(svg) < 700_000, len(svg)
    assert bool(re.search(r">… \d+ more steps</text>", svg))
    raw_markup = "<>" in svg or "'\"" in svg
    assert not raw_markup
    assert ("&lt;&gt;&amp;" in svg) is True
    width = float(re.match(r"<svg [^>]*width='([\d.]+)'", svg).group(1))
    assert width < 1200, "edge names are clipped, so the picture stays narrow"
    labels = re.findall(r"class='ws-edge-label'[^>]*>([^<]*)</text>", svg)
    assert labels and max(len(unescape(label)) for label in labels) == MAX_EDGE_LABEL + 1  # "?"
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert titles and all(len(unescape(title)) <= 2 * MAX_EDGE_LABEL + 12 for title in titles)
    for path in re.findall(r"data-path='([^']*)'", svg):
        assert len(path) <= 200 * 6, "a path is cut before it is escaped"


def test_an_empty_list_of_steps_draws_an_empty_picture() -> None:
    empty = Workflow(id="e", name="e", version="1.0.0", steps=())
    svg = workflow_svg(empty)
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "ws-node" not in svg and "more step" not in svg
