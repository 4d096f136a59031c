"""graph.workflow_svg and summary.summary_html: the static pictures of a workflow and a run."""

from __future__ import annotations

import re
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, Node, NodeMetadata, NodeRegistry, RunResult
from workscript_jupyter.kernel import RunHandle
from workscript_jupyter.kernel.graph import workflow_svg
from workscript_jupyter.kernel.summary import MAX_STATE_CHARS, summary_html
from workscript_jupyter.nodes import builtin_registry

from .conftest import BROKEN, COUNT_TO_TEN, document

EVIL = "<script>alert(1)</script>"

GRAPH = document(
    [
        {
            "range...": {
                "stop": 3,
                "current_step?": [
                    {"math": {"operation": "add", "values": [1, 2]}},
                    {"$.t": "$.mathResult"},
                ],
            }
        },
        {
            "logic": {
                "operation": "equal",
                "values": ["$.t", 3],
                "false?": "range...",
                "true?": {"log": {"message": "done"}},
            }
        },
        {"$.last": True},
    ]
)
MATH = "/workflow/0/range.../current_step?/0/math"


class EvilNode(Node):
    metadata = NodeMetadata(id=EVIL, name="evil", description="a node with a hostile id")

    async def execute(self, ctx: Any, params: dict[str, Any]) -> Edge | None:
        return Edge("success")


@pytest.fixture(scope="module")
def evil_registry() -> NodeRegistry:
    registry = builtin_registry(plugins=False)
    registry.register(EvilNode)
    return registry


def groups(svg: str) -> dict[str, str]:
    """data-path → the attributes after it, for every box."""
    return dict(re.findall(r"<g data-path='([^']*)'([^>]*)>", svg))


def top_boxes(svg: str) -> list[str]:
    return re.findall(r"<rect x='36' [^>]*width='190'", svg)


# -- the graph --------------------------------------------------------------------------------


def test_one_box_per_top_level_step(make_workflow: Any) -> None:
    svg = workflow_svg(make_workflow(GRAPH))
    assert svg.startswith("<svg xmlns='http://www.w3.org/2000/svg'")
    assert svg.endswith("</svg>")
    assert len(top_boxes(svg)) == 3
    boxes = groups(svg)
    for path in ("/workflow/0/range...", "/workflow/1/logic", "/workflow/2/$.last"):
        assert path in boxes
    # the column: one arrow between consecutive steps
    assert svg.count("<line ") == 2
    # the nodes an edge runs are chips to the right
    assert MATH in boxes
    assert "/workflow/1/logic/true?/log" in boxes
    assert ">current_step?</text>" in svg and ">true?</text>" in svg


def test_loops_are_marked(make_workflow: Any) -> None:
    svg = workflow_svg(make_workflow(GRAPH))
    assert ">↻ range</text>" in svg
    assert svg.count("↻") == 1
    assert ">logic</text>" in svg
    assert ">$.last</text>" in svg, "a state setter is labelled with its key"


def test_jumps_are_arrows_back_to_their_target(make_workflow: Any) -> None:
    svg = workflow_svg(make_workflow(GRAPH))
    jumps = re.findall(r"<path d='M36,([\d.]+) C10,[\d.]+ 10,([\d.]+) 36,[\d.]+'", svg)
    assert len(jumps) == 1
    start, end = (float(y) for y in jumps[0])
    assert start == 52 + 13 and end == 10 + 13, "from the middle of logic to the middle of range"
    assert "<title>false? jumps to range...</title>" in svg
    assert svg.count("stroke-dasharray") == 1


def test_the_running_node_is_highlighted(make_workflow: Any) -> None:
    workflow = make_workflow(GRAPH)
    running = {p for p, attrs in groups(workflow_svg(workflow, MATH)).items() if "running" in attrs}
    assert running == {"/workflow/0/range...", MATH}, "the chip and the step that runs it"
    top = {
        p
        for p, attrs in groups(workflow_svg(workflow, "/workflow/2/$.last")).items()
        if "running" in attrs
    }
    assert top == {"/workflow/2/$.last"}
    assert "ws-running" not in workflow_svg(workflow, "")
    assert workflow_svg(workflow, "").count("#e3f0ff") == 0
    assert workflow_svg(workflow, MATH).count("fill='#e3f0ff'") == 2


def test_more_than_four_chips_are_counted(make_workflow: Any) -> None:
    steps = [{"$.v": n} for n in range(6)]
    svg = workflow_svg(make_workflow(document([{"log": {"message": "x", "success?": steps}}])))
    assert len(re.findall(r"width='96'", svg)) == 4
    assert ">+2</text>" in svg


def test_graph_text_is_escaped(evil_registry: NodeRegistry) -> None:
    from workscript_jupyter.engine import load_workflow

    workflow = load_workflow(
        document([{EVIL: {"<b>?": "log"}}, {"log": {"message": "x"}}]), evil_registry
    )
    svg = workflow_svg(workflow, f"/workflow/0/{EVIL.replace('/', '~1')}")
    assert "<script" not in svg.lower()
    assert "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "&lt;b&gt;?" in svg
    assert "<title>&lt;b&gt;? jumps to log</title>" in svg
    path = "/workflow/0/&lt;script&gt;alert(1)&lt;~1script&gt;"
    running = f"data-path='{path}' class='ws-node ws-step ws-running'"
    assert running in svg


# -- the summary ------------------------------------------------------------------------------


def run(make_workflow: Any, registry: Any, doc: dict[str, Any], **kw: Any) -> RunHandle:
    return RunHandle(make_workflow(doc), registry, **kw).start()


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_summary_of_a_completed_run(make_workflow: Any, registry: Any) -> None:
    handle = run(make_workflow, registry, COUNT_TO_TEN)
    html = summary_html(handle.workflow, handle.result())
    assert html.startswith("<div class='workscript-run-summary'")
    assert "<b>Count to ten</b> <code>count-to-ten</code>" in html
    assert "✓ completed" in html
    assert "· 32 node runs ·" in html
    assert "workscript-error" not in html
    assert "warning at" not in html
    # one row per node path, runs summed
    rows = re.findall(
        r"<td[^>]*><code>([^<]+)</code></td><td[^>]*>[^<]*</td><td[^>]*>[^<]*</td>"
        r"<td[^>]*>([\d,]+)</td>",
        html,
    )
    assert dict(rows) == {
        "/workflow/0/range...": "11",
        "/workflow/0/range.../current_step?/0/math": "10",
        "/workflow/0/range.../current_step?/1/$.total": "10",
        "/workflow/1/log": "1",
    }
    assert "&quot;total&quot;: 55" in html


def test_summary_of_a_failed_run(make_workflow: Any, registry: Any) -> None:
    handle = run(make_workflow, registry, BROKEN)
    html = summary_html(handle.workflow, handle.result())
    assert "✗ failed" in html
    errors = re.findall(r"<div style='color:#b3261e' class='workscript-error'>(.*?)</div>", html)
    assert len(errors) == 1
    assert text_of(errors[0]).startswith(
        "NODE_EXECUTION_ERROR at /workflow/1/transform (transform): Expecting property name"
    )
    assert "<tr title='Expecting property name" in html
    assert "&quot;before&quot;: &quot;reached&quot;" in html


def test_summary_lists_warnings(make_workflow: Any, registry: Any) -> None:
    doc = document([{"wait": {"seconds": -1}}, {"$.after": 1}])
    handle = run(make_workflow, registry, doc)
    assert handle.status == "completed"
    html = summary_html(handle.workflow, handle.result())
    assert (
        "warning at <code>/workflow/0/wait</code>: seconds must be a number &gt;= 0, got -1" in html
    )


def test_summary_truncates_a_big_state(make_workflow: Any, registry: Any) -> None:
    handle = run(make_workflow, registry, document([{"$.big": "x" * 30_000}]))
    html = summary_html(handle.workflow, handle.result())
    state = re.search(r"<pre[^>]*>(.*)</pre>", html, re.S)
    assert state is not None
    match = re.search(r"\n… \(([\d,]+) more characters\)$", state.group(1))
    assert match is not None
    assert int(match.group(1).replace(",", "")) > 10_000 - 1
    assert len(html) < MAX_STATE_CHARS + 5_000


def test_summary_escapes_html(make_workflow: Any, registry: Any) -> None:
    doc = document(
        [
            {"$.note": EVIL},
            {"transform": {"operation": "parse", "data": "{<img src=x onerror=alert(1)>"}},
        ],
        name="<img src=x onerror=alert(1)>",
    )
    handle = run(make_workflow, registry, doc)
    assert handle.status == "failed"
    html = summary_html(handle.workflow, handle.result())
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "<b>&lt;img src=x onerror=alert(1)&gt;</b>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_summary_while_running_and_with_live_state(make_workflow: Any, registry: Any) -> None:
    workflow = make_workflow(COUNT_TO_TEN)
    running = summary_html(workflow, None)
    assert text_of(running) == "Count to ten ⋯ running"
    handle = run(make_workflow, registry, COUNT_TO_TEN)
    result: RunResult = handle.result()
    html = summary_html(workflow, result, live_state={"shown": "instead"})
    assert "&quot;shown&quot;: &quot;instead&quot;" in html
    assert "&quot;total&quot;" not in html
