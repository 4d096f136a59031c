"""removeDuplicates and compareDatasets: rows matched by the values of some of their fields
(WORKFLOW-LANGUAGE.md §6).

Rows are matched through hashable keys built once per row, never by comparing rows pairwise.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..engine.state import copy_json
from .data_common import UNDEFINED, error, field_getter, js_string, now_iso, tagged_key
from .values import strict_equal

__all__ = ["CompareDatasetsNode", "RemoveDuplicatesNode"]

_OPERATIONS = ("current_input", "previous_executions", "clear_history")
_COMPARE_MODES = ("all_fields", "all_except", "selected_fields")
_WORKFLOW_SCOPE = "workflow"


def _row_key_function(
    mode: str, compare: list[str], exclude: list[str], dot: bool
) -> Callable[[Any], Hashable]:
    """A function giving the identity of a row under the chosen compare mode."""
    if mode == "selected_fields":
        getters = [field_getter(f, dot_notation=dot) for f in sorted(set(compare))]

        def selected(item: Any) -> Hashable:
            if not isinstance(item, dict):
                return ("value", tagged_key(item))
            return tuple(tagged_key(get(item)) for get in getters)

        return selected
    excluded = frozenset(exclude) if mode == "all_except" else frozenset()

    def all_fields(item: Any) -> Hashable:
        if not isinstance(item, dict):
            return ("value", tagged_key(item))
        return tuple(sorted((k, tagged_key(v)) for k, v in item.items() if k not in excluded))

    return all_fields


def _history_store(ctx: NodeContext) -> dict[str, Any]:
    """This workflow's dedupe history: kept across runs by the services, else for this run."""
    services = ctx.services
    if services is not None:
        history: dict[str, Any] = services.dedupe_history.setdefault(ctx.workflow_id, {})
        return history
    return ctx.memory.setdefault("dedupeHistory", {})  # type: ignore[no-any-return]


def _string_list(value: Any, name: str) -> list[str] | str:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"{name} must be a list of field names, got {value!r}"
    return value


class RemoveDuplicatesNode(Node):
    metadata = NodeMetadata(
        id="removeDuplicates",
        name="Remove Duplicates",
        category="data",
        description=(
            "Drops the rows of in.items that repeat an earlier row (or, with "
            "previous_executions, a row kept by an earlier run of this workflow). Takes kept "
            "when any row was kept, else discarded; clear_history forgets the history."
        ),
        inputs=(
            ParamSpec(
                "operation", "string", "what to do", default="current_input", choices=_OPERATIONS
            ),
            ParamSpec(
                "compareMode",
                "string",
                "which fields make two rows the same",
                default="all_fields",
                choices=_COMPARE_MODES,
            ),
            ParamSpec("fieldsToCompare", "string[]", "selected_fields: the fields", default=[]),
            ParamSpec("fieldsToExclude", "string[]", "all_except: the fields ignored", default=[]),
            ParamSpec(
                "removeOtherFields",
                "boolean",
                "kept rows hold only the compared fields",
                default=False,
            ),
            ParamSpec("disableDotNotation", "boolean", "fields are plain keys", default=False),
            ParamSpec(
                "scope",
                "string",
                "history per node, or shared by the whole workflow",
                default="node",
                choices=("node", "workflow"),
            ),
            ParamSpec("historySize", "integer", "rows remembered per scope", default=1000),
        ),
        outputs=("keptItems", "discardedItems", "deduplicationSummary"),
        edges=("kept", "discarded", "cleared", "error"),
        example={
            "compareMode": "selected_fields",
            "fieldsToCompare": ["email"],
            "kept?": {"log": {"message": "{{$.deduplicationSummary.keptCount}} unique"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation = params.get("operation", "current_input")
        mode = params.get("compareMode", "all_fields")
        scope = params.get("scope", "node")
        if operation not in _OPERATIONS:
            return error(f"operation must be one of {', '.join(_OPERATIONS)}, got {operation!r}")
        if scope not in ("node", _WORKFLOW_SCOPE):
            return error(f'scope must be "node" or "workflow", got {scope!r}')
        if operation == "clear_history":
            _history_store(ctx).clear()  # as the original: every scope of this workflow
            return Edge("cleared", {"message": "Deduplication history cleared", "scope": scope})
        if mode not in _COMPARE_MODES:
            return error(f"compareMode must be one of {', '.join(_COMPARE_MODES)}, got {mode!r}")
        compare = _string_list(params.get("fieldsToCompare"), "fieldsToCompare")
        exclude = _string_list(params.get("fieldsToExclude"), "fieldsToExclude")
        for problem in (compare, exclude):
            if isinstance(problem, str):
                return error(problem)
        assert isinstance(compare, list) and isinstance(exclude, list)
        if mode == "selected_fields" and not compare:
            return error('fieldsToCompare is required when compareMode is "selected_fields"')
        if mode == "all_except" and not exclude:
            return error('fieldsToExclude is required when compareMode is "all_except"')
        history_size = params.get("historySize", 1000)
        if not isinstance(history_size, int) or isinstance(history_size, bool) or history_size < 0:
            return error(f"historySize must be a whole number >= 0, got {history_size!r}")
        items = ctx.inputs.get("items")
        items = [] if items is None else items
        if not isinstance(items, list):
            return error(f"Input items must be an array, got {type(items).__name__}")

        key_of = _row_key_function(mode, compare, exclude, not params.get("disableDotNotation"))
        history_key = _WORKFLOW_SCOPE if scope == _WORKFLOW_SCOPE else f"node:{ctx.node_path}"
        remember = operation == "previous_executions"
        history: list[Any] = _history_store(ctx).get(history_key, []) if remember else []
        seen = {key_of(row) for row in history}
        kept: list[Any] = []
        discarded: list[Any] = []
        for item in items:
            key = key_of(item)
            if key in seen:
                discarded.append(item)
            else:
                seen.add(key)
                kept.append(item)
        if remember:
            updated = history + [copy_json(row) for row in kept]
            _history_store(ctx)[history_key] = updated[len(updated) - history_size :]
        if params.get("removeOtherFields") and mode != "all_fields":
            kept = [_only_compared(row, mode, compare, exclude) for row in kept]
        return self._finish(ctx, items, kept, discarded, operation, mode)

    @staticmethod
    def _finish(
        ctx: NodeContext,
        items: list[Any],
        kept: list[Any],
        discarded: list[Any],
        operation: str,
        mode: str,
    ) -> Edge:
        ctx.state["keptItems"] = kept
        ctx.state["discardedItems"] = discarded
        ctx.state["deduplicationSummary"] = {
            "totalItems": len(items),
            "keptCount": len(kept),
            "discardedCount": len(discarded),
            "operation": operation,
            "compareMode": mode,
            "timestamp": now_iso(),
        }
        if kept:
            return Edge(
                "kept",
                {"items": kept, "keptCount": len(kept), "discardedCount": len(discarded)},
            )
        return Edge("discarded", {"items": discarded, "discardedCount": len(discarded)})


def _only_compared(row: Any, mode: str, compare: list[str], exclude: list[str]) -> Any:
    if not isinstance(row, dict):
        return row
    if mode == "all_except":
        return {k: v for k, v in row.items() if k not in exclude}
    return {f: row[f] for f in compare if f in row}


# -- compareDatasets -------------------------------------------------------------------------------

_MODES = ("append", "keep_matches", "keep_non_matches", "remove_matches", "enrich", "choose_branch")
_CONFLICTS = ("prefer_input1", "prefer_input2", "merge_arrays")


def _match_text(value: Any) -> str:
    if value is None:
        return "__NULL__"
    if value is UNDEFINED:
        return "__UNDEFINED__"
    return js_string(value)


def _key_function(fields: list[str]) -> Callable[[Any], tuple[str, ...]]:
    getters = [field_getter(f) for f in fields]
    return lambda item: tuple(_match_text(get(item)) for get in getters)


def _index(rows: list[Any], key_of: Callable[[Any], tuple[str, ...]]) -> dict[Any, list[Any]]:
    index: dict[Any, list[Any]] = {}
    for row in rows:
        index.setdefault(key_of(row), []).append(row)
    return index


def _pick(row: Any, fields: list[str] | None) -> Any:
    """Only ``fields`` (dot paths, rebuilt as nested objects); the row itself when None."""
    if fields is None:
        return row
    picked: dict[str, Any] = {}
    for path in fields:
        value = field_getter(path)(row)
        if value is UNDEFINED:
            continue
        *parents, last = path.split(".")
        holder = picked
        for segment in parents:
            child = holder.get(segment)
            if not isinstance(child, dict):
                holder[segment] = child = {}
            holder = child
        holder[last] = value
    return picked


def _as_object(value: Any) -> dict[str, Any]:
    """What ``{...value}`` gives in JavaScript for a JSON value: its fields, or nothing."""
    return value if isinstance(value, dict) else {}


def _enrich_one(
    row: Any, matches: list[Any], fields: list[str] | None, conflicts: str
) -> dict[str, Any]:
    enriched = dict(row) if isinstance(row, dict) else {}
    for match in matches:
        extra = _pick(match, fields)
        if not isinstance(extra, dict):
            continue
        for key, value in extra.items():
            if key not in enriched or conflicts == "prefer_input2":
                enriched[key] = value
            elif conflicts == "merge_arrays":
                existing = enriched[key]
                if isinstance(existing, list):
                    if not any(strict_equal(v, value) for v in existing):
                        enriched[key] = [*existing, value]  # never append to input1's own list
                else:
                    enriched[key] = [existing, value]
    return enriched


def _optional_fields(params: dict[str, Any], name: str) -> list[str] | str | None:
    value = params.get(name)
    if value is None:
        return None
    return _string_list(value, name)


def _match_pairs(match_fields: Any) -> tuple[list[str], list[str]] | str:
    """(input1 paths, input2 paths) from [{field1, field2}], or an error message."""
    if not isinstance(match_fields, list) or not match_fields:
        return "matchFields must be a non-empty array of {field1, field2}"
    first: list[str] = []
    second: list[str] = []
    for i, pair in enumerate(match_fields):
        field1 = pair.get("field1") if isinstance(pair, dict) else None
        field2 = pair.get("field2") if isinstance(pair, dict) else None
        if not isinstance(field1, str) or not field1 or not isinstance(field2, str) or not field2:
            return f"matchFields[{i}] must have field1 and field2 properties"
        first.append(field1)
        second.append(field2)
    return first, second


class CompareDatasetsNode(Node):
    metadata = NodeMetadata(
        id="compareDatasets",
        name="Compare Datasets (Merge)",
        category="data",
        description=(
            "Joins two lists on matching fields: append, keep_matches (inner join), "
            "keep_non_matches / remove_matches (anti-join), enrich (left join adding input2's "
            "fields), or choose_branch (one input as is)."
        ),
        inputs=(
            ParamSpec("mode", "string", "the join strategy", True, choices=_MODES),
            ParamSpec("input1", "array", "the first list (the left side)"),
            ParamSpec("input2", "array", "the second list"),
            ParamSpec("matchFields", "object[]", "[{field1, field2}]: dot paths compared as text"),
            ParamSpec("input1Fields", "string[]", "only these fields of input1's rows"),
            ParamSpec("input2Fields", "string[]", "only these fields of input2's rows"),
            ParamSpec(
                "resolveConflicts",
                "string",
                "enrich: who wins when both rows have a field",
                default="prefer_input1",
                choices=_CONFLICTS,
            ),
            ParamSpec(
                "selectedBranch",
                "string",
                "choose_branch: which input",
                choices=("input1", "input2"),
            ),
        ),
        outputs=("compareResult", "compareMetadata"),
        edges=("success", "no_matches", "error"),
        example={
            "mode": "keep_matches",
            "input1": [{"userId": 1, "name": "Alice"}],
            "input2": [{"userId": 1, "department": "Engineering"}],
            "matchFields": [{"field1": "userId", "field2": "userId"}],
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        mode = params.get("mode")
        if not mode:
            return error("Missing required parameter: mode", nodeId=ctx.node_id)
        if mode not in _MODES:
            return error(f"Invalid mode: {mode!r}. Must be one of: {', '.join(_MODES)}")
        if mode == "choose_branch":
            return self._choose_branch(ctx, params)
        input1, input2 = params.get("input1"), params.get("input2")
        for name, value in (("input1", input1), ("input2", input2)):
            if not isinstance(value, list):
                return error(f"{name} must be an array, got {type(value).__name__}")
        assert isinstance(input1, list) and isinstance(input2, list)
        metadata: dict[str, Any] = {
            "mode": mode,
            "input1Count": len(input1),
            "input2Count": len(input2),
            "timestamp": now_iso(),
        }
        if mode == "append":
            result = [*input1, *input2]
            metadata["resultCount"] = len(result)
            self._publish(ctx, result, metadata)
            return Edge("success", {"result": result, "count": len(result)})
        pairs = _match_pairs(params.get("matchFields"))
        if isinstance(pairs, str):
            return error(f'mode "{mode}": {pairs}', nodeId=ctx.node_id)
        fields1 = _optional_fields(params, "input1Fields")
        fields2 = _optional_fields(params, "input2Fields")
        conflicts = params.get("resolveConflicts", "prefer_input1")
        for problem in (fields1, fields2):
            if isinstance(problem, str):
                return error(problem)
        if conflicts not in _CONFLICTS:
            return error(
                f"resolveConflicts must be one of {', '.join(_CONFLICTS)}, got {conflicts!r}"
            )
        assert not isinstance(fields1, str) and not isinstance(fields2, str)
        key1, key2 = _key_function(pairs[0]), _key_function(pairs[1])
        index = _index(input2, key2)
        matched = 0
        result = []
        for row in input1:
            matches = index.get(key1(row))
            matched += matches is not None
            if mode == "keep_matches":
                left = _as_object(_pick(row, fields1))
                result.extend({**left, **_as_object(_pick(m, fields2))} for m in matches or ())
            elif mode == "enrich":
                result.append(_enrich_one(row, matches or [], fields2, conflicts))
            elif matches is None:  # keep_non_matches and remove_matches: the same anti-join
                result.append(_pick(row, fields1))
        metadata["resultCount"] = len(result)
        metadata["matchedCount"] = matched
        self._publish(ctx, result, metadata)
        if mode == "keep_matches" and not result:
            return Edge(
                "no_matches", {"result": [], "count": 0, "message": "No matching items found"}
            )
        return Edge("success", {"result": result, "count": len(result), "matched": matched})

    def _choose_branch(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        branch = params.get("selectedBranch")
        if branch not in ("input1", "input2"):
            return error('choose_branch mode requires selectedBranch to be "input1" or "input2"')
        selected = params.get(branch)
        if not isinstance(selected, list):
            return error(f"{branch} must be an array, got {type(selected).__name__}")
        metadata = {
            "mode": "choose_branch",
            "selectedBranch": branch,
            "count": len(selected),
            "timestamp": now_iso(),
        }
        self._publish(ctx, selected, metadata)
        return Edge(
            "success", {"result": selected, "count": len(selected), "selectedBranch": branch}
        )

    @staticmethod
    def _publish(ctx: NodeContext, result: list[Any], metadata: dict[str, Any]) -> None:
        ctx.state["compareResult"] = result
        ctx.state["compareMetadata"] = metadata
