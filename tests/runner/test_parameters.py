"""Parameter injection and the ``output`` helper, without a kernel."""

from __future__ import annotations

import ast
import datetime as dt
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workscript_jupyter import output
from workscript_jupyter.errors import NotebookParameterError
from workscript_jupyter.runner import (
    INJECTED_TAG,
    OUTPUT_MIME_TYPE,
    OutputCollector,
    collect_from_notebook,
    inject,
    render_parameters,
)
from workscript_jupyter.runner.parameters import find_tagged_cell


def notebook(tagged: bool = True) -> nbformat.NotebookNode:
    first = new_code_cell("x = 0", metadata={"tags": ["parameters"]} if tagged else {})
    return new_notebook(cells=[new_markdown_cell("# t"), first, new_code_cell("print(x)")])


def test_values_render_as_python_literals() -> None:
    params = {
        "s": 'it\'s "quoted"\n',
        "i": 3,
        "f": 1.5,
        "b": True,
        "n": None,
        "l": [1, "a", (2, 3)],
        "d": {"k": [None, False]},
        "day": dt.date(2024, 1, 2),
        "when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    }
    namespace: dict[str, object] = {}
    exec(render_parameters(params), namespace)  # the same code the kernel runs
    assert namespace["s"] == params["s"]
    assert namespace["l"] == [1, "a", [2, 3]]
    assert namespace["d"] == {"k": [None, False]}
    assert namespace["day"] == "2024-01-02"
    assert namespace["when"] == "2024-01-02T03:04:05+00:00"
    assert namespace["b"] is True and namespace["n"] is None
    ast.parse(render_parameters(params))


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"bad": object()}, "bad"),
        ({"deep": {"x": [1, {2}]}}, "deep"),
        ({"keys": {1: "a"}}, "keys"),
        ({"nan": float("nan")}, "nan"),
        ({"not an identifier": 1}, "not an identifier"),
        ({"class": 1}, "class"),
    ],
)
def test_non_json_values_are_refused_naming_the_parameter(params: dict, named: str) -> None:
    with pytest.raises(NotebookParameterError, match=named) as info:
        render_parameters(params)
    assert info.value.details == {"parameter": named}


def test_inject_after_parameters_cell_and_replace_earlier_injection() -> None:
    nb = notebook()
    once = inject(nb, {"x": 1})
    assert [c.metadata.get("tags") for c in once.cells][1:3] == [["parameters"], [INJECTED_TAG]]
    twice = inject(once, {"x": 2})
    assert len(twice.cells) == 4
    assert find_tagged_cell(twice, INJECTED_TAG) == 2
    assert "x = 2" in twice.cells[2].source and "x = 1" not in str(twice.cells)
    assert len(nb.cells) == 3  # the input is never modified
    nbformat.validate(twice)


def test_without_parameters_cell_injected_first() -> None:
    nb = inject(notebook(tagged=False), {"x": 1})
    assert nb.cells[0].metadata["tags"] == [INJECTED_TAG]


def test_output_helper_checks_json_and_records() -> None:
    from workscript_jupyter.output import recorded

    output("answer", (1, 2))
    assert recorded["answer"] == [1, 2]
    with pytest.raises(TypeError, match="answer"):
        output("answer", {1, 2})


def test_collector_reads_display_messages_and_saved_notebooks() -> None:
    data = {OUTPUT_MIME_TYPE: {"name": "n", "value": [1]}, "text/plain": "n"}
    collector = OutputCollector()
    collector.feed_message({"msg_type": "stream", "content": {"text": "x"}})
    collector.feed_message({"msg_type": "display_data", "content": {"data": data}})
    assert collector.values == {"n": [1]}
    cell = new_code_cell("", outputs=[nbformat.v4.new_output("display_data", data=data)])
    assert collect_from_notebook(new_notebook(cells=[cell])) == {"n": [1]}
    json.dumps(collector.values)


def test_output_mime_type_matches_the_kernel_helper() -> None:
    from workscript_jupyter.output import OUTPUT_MIME_TYPE as helper_mime

    assert helper_mime == OUTPUT_MIME_TYPE
