"""A ``%%workflow`` cell that is too deep or an alias bomb is a one-paragraph usage error naming
the place, never a RecursionError or a hang (issue 13, item 3)."""

from __future__ import annotations

import pytest

from workscript_jupyter.engine import load_document
from workscript_jupyter.errors import WorkflowValidationError
from workscript_jupyter.kernel.cell_errors import format_issues, pointer_lines

DEEP = "[" * 10_000 + "]" * 10_000
BOMB = "\n".join(
    ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    + [
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (DEEP, "cell: nested more than 128 levels deep at line 1 column 129"),
        ("id: a\nworkflow: " + DEEP, "cell: nested more than 128 levels deep at line 2"),
        (BOMB, "cell: its aliases expand to more than 1,000,000 values"),
    ],
)
def test_a_cell_over_a_limit_is_a_clear_error(cell, expected):
    with pytest.raises(WorkflowValidationError) as caught:
        load_document(cell, source="cell")
    text = format_issues(caught.value.issues, cell, line_offset=1)
    assert expected in text and "[PARSE_ERROR]" in text


def test_line_numbers_are_not_looked_up_past_the_limits():
    assert pointer_lines(DEEP) == {}
    assert pointer_lines(BOMB) == {}
    assert pointer_lines("a: 1\nb: [2]") == {"": 1, "/a": 1, "/b": 2, "/b/0": 2}
