"""%load_ext, %%workflow (options, bodies, --state, errors), the input transformer, %workscript."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from workscript_jupyter.kernel import RunHandle, load_ipython_extension
from workscript_jupyter.kernel.magics import await_workflow_cells
from workscript_jupyter.kernel.monitor import RunMonitor

from .conftest import BROKEN, COUNT_TO_TEN, EXTENSION, html_outputs, waiting, widget_in

SIMPLE = '{"id": "simple", "name": "Simple", "version": "1.0.0", "workflow": [{"$.b": "$.who"}]}'

YAML_COUNT = """\
id: count-to-ten
name: Count to ten
initialState: {total: 0}
workflow:
  - range...:
      start: 1
      stop: 11
      current_step?:
        - math: {operation: add, values: ["$.total", "$.rangeValue"]}
        - $.total: $.mathResult
  - log: {message: "the sum of 1..10 is {{$.total}}"}
"""


def cell(shell: Any, line: str, body: str) -> Any:
    """Run ``%%workflow line`` synchronously (no running loop: the run ends before it returns)."""
    with capture_output():
        return shell.run_cell_magic("workflow", line, body)


def plain(state: dict[str, Any]) -> dict[str, Any]:
    """The state without the engine's bookkeeping keys (``_lastStateSet``, ``_edgeContext``)."""
    return {k: v for k, v in state.items() if not k.startswith("_")}


# -- the extension --------------------------------------------------------------------------


def test_load_ext_registers_the_magics_and_the_transformer(shell: Any) -> None:
    magics = shell.magics_manager.magics
    assert magics["cell"]["workflow"].__self__.__class__.__name__ == "WorkscriptMagics"
    assert magics["line"]["workscript"].__self__.__class__.__name__ == "WorkscriptMagics"
    assert shell.input_transformers_post.count(await_workflow_cells) == 1


def test_loading_twice_registers_once(shell: Any) -> None:
    load_ipython_extension(shell)  # a second, direct load is a no-op
    with capture_output():
        shell.run_line_magic("load_ext", EXTENSION)  # IPython: "already loaded"
    assert shell.input_transformers_post.count(await_workflow_cells) == 1
    handle = cell(shell, "--quiet", SIMPLE)
    assert handle.status == "completed"


def test_unload_ext_removes_the_magics_and_the_transformer(shell: Any) -> None:
    shell.run_line_magic("unload_ext", EXTENSION)
    assert "workflow" not in shell.magics_manager.magics["cell"]
    assert "workscript" not in shell.magics_manager.magics["line"]
    assert await_workflow_cells not in shell.input_transformers_post
    with pytest.raises(UsageError, match="not found"):
        shell.run_cell_magic("workflow", "", SIMPLE)
    # and it loads again afterwards
    shell.run_line_magic("load_ext", EXTENSION)
    assert "workflow" in shell.magics_manager.magics["cell"]
    assert shell.input_transformers_post.count(await_workflow_cells) == 1


# -- %%workflow: bodies and options ---------------------------------------------------------


def test_json_body_runs_to_the_end_without_a_loop(shell: Any) -> None:
    handle = cell(shell, "--quiet", json.dumps(COUNT_TO_TEN))
    assert isinstance(handle, RunHandle)
    assert handle.status == "completed"
    assert handle.state["total"] == 55
    assert handle.result().node_runs == 32


def test_yaml_body_runs(shell: Any) -> None:
    handle = cell(shell, "--quiet", YAML_COUNT)
    assert handle.status == "completed"
    assert handle.state["total"] == 55
    assert handle.state["lastLoggedMessage"] == "the sum of 1..10 is 55"


def test_a_cell_with_only_an_id_gets_name_and_version(shell: Any) -> None:
    handle = cell(shell, "-q", '{"id": "solo", "workflow": [{"$.x": 1}]}')
    assert handle.workflow.id == "solo"
    assert handle.workflow.name == "solo"
    assert handle.workflow.version == "1.0.0"
    assert handle.state["x"] == 1
    named = cell(shell, "-q", "id: solo2\nname: Given\nversion: 2.0.0\nworkflow:\n  - $.x: 2\n")
    assert (named.workflow.name, named.workflow.version) == ("Given", "2.0.0")


def test_name_binds_the_handle(shell: Any) -> None:
    handle = cell(shell, "--name counter --quiet", json.dumps(COUNT_TO_TEN))
    assert shell.user_ns["counter"] is handle
    short = cell(shell, "-n other -q", SIMPLE)
    assert shell.user_ns["other"] is short
    assert short is not handle


def test_quiet_displays_nothing_and_default_displays_widget_and_summary(shell: Any) -> None:
    with capture_output() as quiet:
        shell.run_cell_magic("workflow", "--quiet", SIMPLE)
    assert quiet.outputs == []
    with capture_output() as shown:
        handle = shell.run_cell_magic("workflow", "", json.dumps(COUNT_TO_TEN))
    monitor = widget_in(shown.outputs)
    assert isinstance(monitor, RunMonitor)
    assert monitor.status == "completed"
    assert monitor.node_runs == 32
    summaries = [h for h in html_outputs(shown.outputs) if "workscript-run-summary" in h]
    assert summaries, "the static summary is written below the widget"
    assert "✓ completed" in summaries[-1]
    assert "32 node runs" in summaries[-1]
    assert handle.status == "completed"


def test_unknown_option_is_a_usage_error(shell: Any, magics: Any) -> None:
    with pytest.raises(UsageError, match="unrecognized arguments: --bogus"):
        shell.run_cell_magic("workflow", "--bogus", SIMPLE)
    assert magics.runs == []


def test_help_prints_the_options_and_runs_nothing(shell: Any, magics: Any) -> None:
    # The transformer leaves --help cells alone so that the magic can answer them.
    with capture_output() as captured:
        shell.run_cell_magic("workflow", "--help", SIMPLE)
    text = captured.stdout + "".join(html_outputs(captured.outputs))
    for option in ("--state", "--name", "--quiet", "--no-wait"):
        assert option in text
    assert magics.runs == []


def test_no_wait_on_a_running_loop_returns_a_running_handle(shell: Any) -> None:
    async def scenario() -> tuple[str, str, dict[str, Any]]:
        with capture_output():
            handle = shell.run_cell_magic("workflow", "--no-wait -q", json.dumps(waiting(0.2)))
            first = handle.status
            result = await handle
        return first, result.status, plain(handle.state)

    first, final, state = asyncio.run(scenario())
    assert first == "running"
    assert final == "completed"
    assert state == {"a": 1, "b": 2}


def test_async_cell_returns_at_once_and_the_widget_shows_the_end(shell: Any) -> None:
    async def scenario() -> tuple[Any, Any, str]:
        with capture_output() as captured:
            handle = shell.run_cell_magic("workflow", "--name live", json.dumps(waiting(0.2)))
            first = handle.status
            await handle
        return handle, widget_in(captured.outputs), first

    handle, monitor, first = asyncio.run(scenario())
    assert first == "running"
    assert shell.user_ns["live"] is handle
    assert handle.status == "completed"
    assert "✓ completed" in monitor.header.value
    assert monitor.progress.value == monitor.progress.max == 3
    assert "&quot;b&quot;: 2" in monitor.state_view.value


# -- --state --------------------------------------------------------------------------------


def test_state_dict_literal_needs_no_quotes(shell: Any) -> None:
    handle = cell(shell, '--state {"who": "Ada", "n": 2} --quiet', SIMPLE)
    assert plain(handle.state) == {"who": "Ada", "n": 2, "b": "Ada"}
    single = cell(shell, "-q -s {'who': 'Bob'}", SIMPLE)
    assert single.state["b"] == "Bob"


def test_state_dict_literal_names_notebook_variables(shell: Any) -> None:
    shell.user_ns["person"] = "Grace"
    shell.user_ns["sales"] = [{"id": 1}, {"id": 2}]
    handle = cell(shell, "--state {'who': person, 'rows': sales, 'limit': 10} -q", SIMPLE)
    assert handle.state["b"] == "Grace"
    assert handle.state["rows"] == [{"id": 1}, {"id": 2}]
    assert handle.state["limit"] == 10


def test_state_variable_name_is_copied_not_mutated(shell: Any) -> None:
    params = {"who": "Ada", "nested": {"k": 1}}
    shell.user_ns["params"] = params
    body = '{"id": "m", "workflow": [{"$.who": "changed"}, {"$.nested.k": 2}]}'
    handle = cell(shell, "--state params --quiet", body)
    assert handle.state["who"] == "changed"
    assert handle.state["nested"] == {"k": 2}
    assert params == {"who": "Ada", "nested": {"k": 1}}, "the notebook's dict is left alone"
    again = cell(shell, "-s params -q", SIMPLE)
    assert again.state["b"] == "Ada"


def test_state_is_merged_over_initial_state(shell: Any) -> None:
    body = json.dumps(
        {"id": "merge", "initialState": {"a": 1, "b": 1}, "workflow": [{"$.c": "$.b"}]}
    )
    handle = cell(shell, "--state {'b': 2} -q", body)
    assert plain(handle.state) == {"a": 1, "b": 2, "c": 2}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--state missing", "--state missing: no variable named 'missing' in the notebook"),
        ("--state a_list", "--state a_list: must be a dict, not list"),
        ("--state a_number", "--state a_number: must be a dict, not int"),
        ("--state {'who': ", "--state: \"{'who':\" is not a valid expression"),
        ("--state {'who' 1}", "--state: \"{'who' 1}\" is not a valid expression"),
    ],
)
def test_state_errors_are_usage_errors(shell: Any, magics: Any, line: str, message: str) -> None:
    shell.user_ns["a_list"] = [1, 2]
    shell.user_ns["a_number"] = 3
    with capture_output() as captured, pytest.raises(UsageError) as raised:
        shell.run_cell_magic("workflow", line, SIMPLE)
    assert str(raised.value).startswith(message)
    assert magics.runs == [], "no run starts"
    assert captured.outputs == [], "no widget is shown for a run that never starts"


def test_state_literal_naming_an_unknown_variable_is_a_usage_error(shell: Any) -> None:
    # A typo in a notebook variable's name must not silently become null.
    with capture_output(), pytest.raises(UsageError, match="nobody"):
        shell.run_cell_magic("workflow", "--state {'who': nobody} -q", SIMPLE)


# -- invalid cells ----------------------------------------------------------------------------

INVALID_JSON_BODY = """\
{"id": "bad", "name": "Bad", "version": "1.0.0",
 "workflow": [
   {"$.a": 1},
   {"mth": {}}
 ]}
"""


def test_invalid_cell_is_a_usage_error_with_pointers(shell: Any, magics: Any) -> None:
    with capture_output() as captured, pytest.raises(UsageError) as raised:
        shell.run_cell_magic("workflow", "", INVALID_JSON_BODY)
    message = str(raised.value)
    assert message.splitlines()[0] == "invalid workflow: 1 error"
    assert "/workflow/1: unknown node type 'mth' (did you mean 'math'?)" in message
    assert "[NODE_TYPE_NOT_FOUND]" in message
    assert magics.runs == []
    assert captured.outputs == []


def test_invalid_cell_names_the_line_of_the_cell(shell: Any) -> None:
    # In the notebook, line 1 of the cell is "%%workflow"; {"mth": {}} is on line 5 of the cell
    # (line 4 of the body the magic receives).
    with pytest.raises(UsageError) as raised:
        shell.run_cell_magic("workflow", "", INVALID_JSON_BODY)
    assert "line 5, /workflow/1:" in str(raised.value)


def test_invalid_yaml_cell_lists_every_error(shell: Any) -> None:
    body = "id: y\nworkflow:\n  - $.a: 1\n  - log:\n      _timeoutSeconds: -1\n  - mth: {}\n"
    with pytest.raises(UsageError) as raised:
        shell.run_cell_magic("workflow", "", body)
    lines = str(raised.value).splitlines()
    assert lines[0] == "invalid workflow: 2 errors"
    assert "/workflow/1/log/_timeoutSeconds: _timeoutSeconds must be a number" in lines[1]
    assert "/workflow/2: unknown node type 'mth'" in lines[2]


@pytest.mark.parametrize(
    ("magic", "line"),
    [("cell", "-q --name 'unbalanced"), ("line", "validate 'unbalanced")],
)
def test_unbalanced_quotes_are_a_usage_error(shell: Any, magic: str, line: str) -> None:
    with capture_output(), pytest.raises(UsageError):
        if magic == "cell":
            shell.run_cell_magic("workflow", line, SIMPLE)
        else:
            shell.run_line_magic("workscript", line)


# -- the input transformer ------------------------------------------------------------------


def call(line: str, body: str = "{}\n") -> str:
    return f"get_ipython().run_cell_magic('workflow', {line!r}, {body!r})"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("%%workflow\n{}\n", f"await ({call('')}).wait_in_cell(show=False)\n"),
        ("%%workflow --quiet\n{}\n", f"await ({call('--quiet')}).wait_in_cell(show=True)\n"),
        ("%%workflow -q -n h\n{}\n", f"await ({call('-q -n h')}).wait_in_cell(show=True)\n"),
        (
            "%%workflow --state {'a': 'x y'} -n h\n{}\n",
            "await (" + call("--state {'a': 'x y'} -n h") + ").wait_in_cell(show=False)\n",
        ),
        ("%%workflow --no-wait\n{}\n", f"{call('--no-wait')};\n"),
        ("%%workflow --no-wait --quiet\n{}\n", f"{call('--no-wait --quiet')}\n"),
        ("%%workflow --help\n{}\n", f"{call('--help')}\n"),
        ("%%workflow -h\n{}\n", f"{call('-h')}\n"),
        ("%%workflow --name 'bad\n{}\n", call("--name 'bad") + "\n"),
        ("x = 1\n", "x = 1\n"),
    ],
)
def test_transformer_output(shell: Any, source: str, expected: str) -> None:
    assert shell.transform_cell(source) == expected


def test_transformer_leaves_cells_alone_when_autoawait_is_off(shell: Any) -> None:
    shell.autoawait = False
    assert shell.transform_cell("%%workflow\n{}\n") == f"{call('')}\n"
    assert shell.transform_cell("%%workflow -q\n{}\n") == f"{call('-q')}\n"


def test_transformer_ignores_other_lines() -> None:
    assert await_workflow_cells([]) == []
    other = ["get_ipython().run_cell_magic('timeit', '', 'x')\n"]
    assert await_workflow_cells(other) == other


def test_a_waiting_cell_ends_with_the_run(shell: Any) -> None:
    source = "%%workflow --name waited\n" + json.dumps(waiting(0.2))
    with capture_output():
        started = time.monotonic()
        result = shell.run_cell(source)
        elapsed = time.monotonic() - started
    assert result.success, result.error_in_exec
    assert result.result is None, "the widget and the summary show the run, not an Out"
    assert shell.user_ns["waited"].status == "completed"
    assert elapsed >= 0.2


def test_a_quiet_waiting_cell_outputs_the_finished_handle(shell: Any) -> None:
    with capture_output() as captured:
        result = shell.run_cell("%%workflow --quiet\n" + json.dumps(waiting(0.05)))
    assert result.success, result.error_in_exec
    assert isinstance(result.result, RunHandle)
    assert result.result.status == "completed"
    assert "workscript-run-summary" in result.result._repr_html_()
    assert not any("application/vnd.jupyter.widget-view+json" in o.data for o in captured.outputs)


# -- %workscript ------------------------------------------------------------------------------


def test_workscript_nodes_lists_the_catalogue(shell: Any, magics: Any) -> None:
    html = shell.run_line_magic("workscript", "nodes").data
    assert html.startswith("<table><tr><th>node</th><th>category</th>")
    assert html.count("<tr>") == len(magics.registry) + 1 > 30
    assert "<td><code>math</code></td>" in html
    assert "<td><code>wait</code></td>" in html


@pytest.mark.parametrize("line", ["help", ""])
def test_workscript_help(shell: Any, line: str) -> None:
    html = shell.run_line_magic("workscript", line).data
    assert html.startswith("<pre>%%workflow [--state EXPR] [--name VAR] [--quiet] [--no-wait]")
    for command in ("nodes", "validate VAR_OR_FILE", "run FILE [--state EXPR]", "help"):
        assert f"%workscript {command}" in html


def test_workscript_unknown_subcommand(shell: Any) -> None:
    with pytest.raises(UsageError) as raised:
        shell.run_line_magic("workscript", "frobnicate now")
    message = str(raised.value)
    assert message.startswith("%workscript 'frobnicate now': unknown command")
    assert "%workscript validate VAR_OR_FILE" in message


def test_workscript_validate_a_variable(shell: Any) -> None:
    shell.user_ns["good_text"] = SIMPLE
    shell.user_ns["good_dict"] = {"id": "d", "workflow": [{"$.a": 1}]}
    shell.user_ns["bad_text"] = INVALID_JSON_BODY
    assert (
        "✓ good_text is a valid workflow"
        in shell.run_line_magic("workscript", "validate good_text").data
    )
    assert (
        "✓ good_dict is a valid workflow"
        in shell.run_line_magic("workscript", "validate good_dict").data
    )
    with pytest.raises(UsageError) as raised:
        shell.run_line_magic("workscript", "validate bad_text")
    assert "line 4, /workflow/1: unknown node type 'mth'" in str(raised.value)


def test_workscript_validate_a_file(
    shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ok.yaml").write_text("id: f\nworkflow:\n  - $.a: 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert (
        "✓ ok.yaml is a valid workflow"
        in shell.run_line_magic("workscript", "validate ok.yaml").data
    )
    with pytest.raises(UsageError, match=r"nope\.json: neither a variable holding a workflow"):
        shell.run_line_magic("workscript", "validate nope.json")


@pytest.fixture
def flow_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    text = '{"id": "f", "name": "F", "version": "1.0.0", "workflow": [{"$.b": "$.n"}]}'
    (tmp_path / "f.json").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return "f.json"


def test_workscript_run_a_file(shell: Any, flow_file: str) -> None:
    with capture_output() as captured:
        handle = shell.run_line_magic("workscript", f"run {flow_file}")
    assert isinstance(handle, RunHandle)
    assert handle.status == "completed"
    assert handle.workflow.id == "f"
    assert isinstance(widget_in(captured.outputs), RunMonitor), "run shows the monitor"


@pytest.mark.parametrize(
    "state",
    ["--state params", "-s params", "--state \"{'n': 7}\"", "--state '{\"n\": 7}'"],
)
def test_workscript_run_with_state(shell: Any, flow_file: str, state: str) -> None:
    shell.user_ns["params"] = {"n": 7}
    with capture_output():
        handle = shell.run_line_magic("workscript", f"run {flow_file} {state}")
    assert handle.status == "completed"
    assert handle.state["b"] == 7


def test_workscript_run_with_an_unquoted_state_literal(shell: Any, flow_file: str) -> None:
    # as in %%workflow, "--state {...} needs no quotes"
    with capture_output():
        handle = shell.run_line_magic("workscript", f"run {flow_file} --state {{'n': 7}}")
    assert handle.state["b"] == 7
    assert plain(handle.state) == {"n": 7, "b": 7}


@pytest.mark.parametrize("line", ["run f.json extra", "run f.json --state", "run f.json -x y"])
def test_workscript_run_usage(shell: Any, flow_file: str, line: str) -> None:
    with pytest.raises(UsageError, match=re.escape("usage: %workscript run FILE [--state EXPR]")):
        shell.run_line_magic("workscript", line)


def test_workscript_run_errors(shell: Any, flow_file: str) -> None:
    with pytest.raises(UsageError, match=r"missing\.json: neither a variable"):
        shell.run_line_magic("workscript", "run missing.json")
    with pytest.raises(UsageError, match="no variable named 'nothing'"):
        shell.run_line_magic("workscript", f"run {flow_file} --state nothing")


def test_failed_run_in_a_cell_keeps_its_handle(shell: Any) -> None:
    handle = cell(shell, "--name broken -q", json.dumps(BROKEN))
    assert shell.user_ns["broken"] is handle
    assert handle.status == "failed"
    assert handle.result().error.node_path == "/workflow/1/transform"
    assert plain(handle.state) == {"before": "reached"}


def test_python_steps_of_a_cell_run_in_a_kernel_that_stops_with_the_run(
    shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ..kernel_processes import kernel_processes

    monkeypatch.chdir(tmp_path)  # the run root of a cell: the kernel's working directory
    before = kernel_processes()
    body = json.dumps(
        {
            "id": "py",
            "workflow": [
                {"python": {"code": "import os\nstate['cwd'] = os.getcwd()\nx = 2"}},
                {"python": {"code": "state['twice'] = x * 2"}},
            ],
        }
    )
    handle = cell(shell, "--quiet", body)
    assert handle.status == "completed", handle.result().error
    assert handle.state["cwd"] == str(tmp_path)
    assert handle.state["twice"] == 4  # both steps shared one kernel
    assert kernel_processes() <= before, "the run's kernel outlived the run"
