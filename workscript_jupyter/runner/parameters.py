"""Parameter injection, papermill's way: a cell tagged ``injected-parameters`` after the cell
tagged ``parameters``, with each value written as a Python literal.

Values must be JSON-like: ``str``, ``int``, ``float`` (finite), ``bool``, ``None``, lists (tuples
become lists) and dicts with string keys, nested. Dates and datetimes become ISO strings. Anything
else is refused with a :class:`NotebookParameterError` naming the parameter.
"""

from __future__ import annotations

import copy
import datetime as dt
import keyword
import math
from collections.abc import Mapping
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from ..errors import NotebookParameterError

__all__ = [
    "INJECTED_TAG",
    "PARAMETERS_TAG",
    "find_tagged_cell",
    "inject",
    "normalize_value",
    "render_parameters",
]

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def _cell_tags(cell: Any) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return list(tags) if isinstance(tags, list) else []


def find_tagged_cell(nb: NotebookNode, tag: str) -> int | None:
    """Index of the first cell tagged ``tag``, or None."""
    for index, cell in enumerate(nb.cells):
        if tag in _cell_tags(cell):
            return index
    return None


def normalize_value(name: str, value: Any, where: str = "") -> Any:
    """``value`` as plain JSON-like data (dates → ISO strings); raises for anything else."""
    here = f"{name}{where}"
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)  # an IntEnum or other subclass: its plain repr
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotebookParameterError(
                f"parameter {here!r}: {value!r} is not a finite number",
                details={"parameter": name},
            )
        return float(value)
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [normalize_value(name, item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotebookParameterError(
                    f"parameter {here!r}: dict keys must be strings, not {type(key).__name__}",
                    details={"parameter": name},
                )
            result[key] = normalize_value(name, item, f"{where}[{key!r}]")
        return result
    raise NotebookParameterError(
        f"parameter {here!r}: a {type(value).__name__} is not a JSON-like value "
        "(str, number, bool, None, list, dict, date)",
        details={"parameter": name},
    )


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise NotebookParameterError(
            f"parameter name {name!r} is not a Python identifier", details={"parameter": name}
        )
    return name


def render_parameters(params: Mapping[str, Any]) -> str:
    """The source of the injected cell: one ``name = literal`` line per parameter."""
    lines = ["# Parameters (injected by workscript)"]
    for raw_name, value in params.items():
        name = _check_name(raw_name)
        # repr of normalised data (str, int, float, bool, None, list, dict) is a Python literal
        lines.append(f"{name} = {normalize_value(name, value)!r}")
    return "\n".join(lines) + "\n"


def inject(nb: NotebookNode, params: Mapping[str, Any]) -> NotebookNode:
    """A copy of ``nb`` with ``params`` in a new cell tagged ``injected-parameters``.

    An earlier injected cell is removed. The new cell goes right after the cell tagged
    ``parameters``, or first when there is none (see :func:`find_tagged_cell` to warn about it).
    ``nb`` itself is never modified.
    """
    source = render_parameters(params)  # validate before copying
    new = copy.deepcopy(nb)
    new.cells = [cell for cell in new.cells if INJECTED_TAG not in _cell_tags(cell)]
    cell = new_code_cell(source=source, metadata={"tags": [INJECTED_TAG]})  # type: ignore[no-untyped-call]
    # nbformat >= 5.1 gives new cells an id; only keep it when the notebook uses ids
    if "id" in cell and not (new.nbformat > 4 or new.nbformat_minor >= 5):
        del cell["id"]
    anchor = find_tagged_cell(new, PARAMETERS_TAG)
    new.cells.insert(0 if anchor is None else anchor + 1, cell)
    return new
