"""Reading, validating and compiling a workflow document (WORKFLOW-LANGUAGE.md §1-2).

Validation has two parts. The document's envelope (id, name, version, options) is checked against
the JSON Schema in ``schema.py`` (compiled to plain checks; ``jsonschema`` words the errors); the
steps are then checked by hand, because a hand-written walk gives one clear message per mistake
where a ``oneOf`` schema gives a cascade. Both report ``ValidationIssue(path, message, code)``
with a JSON pointer. One walk over the steps checks them, counts them against the limit and
builds the NodeSteps that run, so what is validated is exactly what runs; a step's parameters
are compiled into resolvers when it first runs (see ``model.NodeStep``). It costs a few
microseconds per step, the same for the 100,000th step as for the first (bench/engine.py (d),
(d2)): the answers that recur (is this a node type, a parameter name, a setter's path) are
found once per document, and the garbage collector is paused meanwhile.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Final

from ..errors import (
    DocumentError,
    DocumentLimitError,
    StateReferenceError,
    ValidationIssue,
    WorkflowValidationError,
)
from .documents import load_json, load_yaml
from .limits import DEFAULT_LIMITS, EngineLimits
from .model import SETTER, Jump, NodeStep, RetryPolicy, Target, Workflow
from .schema import schema_issues, type_name
from .state import StatePath, parse_path

__all__ = ["count_steps", "load_document", "parse_workflow", "validate_workflow"]

SCHEMA: Final = "SCHEMA_VALIDATION_ERROR"
NOT_FOUND: Final = "NODE_TYPE_NOT_FOUND"
BAD_SETTER: Final = "INVALID_STATE_SETTER_SYNTAX"
BAD_TARGET: Final = "EDGE_TARGET_NOT_FOUND"
PARSE_ERROR: Final = "PARSE_ERROR"
TOO_MANY_STEPS: Final = "TOO_MANY_STEPS"

_PARAM_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_MAX_DEPTH = 64
_RESERVED = ("_timeoutSeconds", "_retry")
_NO_EDGES: Final[Mapping[str, Target]] = MappingProxyType({})  # shared by steps without edges


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) from path parts."""
    return "".join(_escape(p) for p in parts)


def _escape(part: str | int) -> str:
    text = str(part)
    if "~" in text or "/" in text:
        text = text.replace("~", "~0").replace("/", "~1")
    return "/" + text


def load_document(text: str, *, source: str = "<workflow>") -> dict[str, Any]:
    """Parse JSON, or YAML when the text is not JSON, within the limits of ``documents``
    (depth, NaN, YAML aliases). Raises WorkflowValidationError."""
    try:
        document = load_json(text, source=source)
    except DocumentError as error:
        cause = error.__cause__ if isinstance(error.__cause__, json.JSONDecodeError) else None
        if cause is None and text.lstrip().startswith(("{", "[")):
            # JSON that a limit refuses (depth, NaN): YAML would read it the same way
            raise WorkflowValidationError(
                [ValidationIssue("", error.message, PARSE_ERROR)]
            ) from None
        document = _load_yaml(text, source, cause)
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "nothing"
        raise WorkflowValidationError(
            [ValidationIssue("", f"{source}: a workflow is an object, found {kind}", PARSE_ERROR)]
        )
    return document


def _load_yaml(text: str, source: str, json_error: json.JSONDecodeError | None) -> Any:
    import yaml  # only hand-written input needs it

    stripped = text.lstrip()
    try:
        return load_yaml(text, source=source)
    except DocumentLimitError as error:
        raise WorkflowValidationError([ValidationIssue("", error.message, PARSE_ERROR)]) from None
    except yaml.YAMLError as yaml_error:
        if json_error is not None and stripped.startswith(("{", "[")):  # meant as JSON
            where = f"line {json_error.lineno}, column {json_error.colno}"
            message = f"{source}: invalid JSON at {where}: {json_error.msg}"
        else:
            mark = getattr(yaml_error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(yaml_error, "problem", None) or str(yaml_error)
            message = f"{source}: invalid YAML{where}: {problem}"
        raise WorkflowValidationError([ValidationIssue("", message, PARSE_ERROR)]) from None


def validate_workflow(
    document: Any, registry: Any, *, limits: EngineLimits = DEFAULT_LIMITS
) -> list[ValidationIssue]:
    """Every problem in ``document``; an empty list means it can run."""
    return _Compiler(registry, limits).compile(document)[1]


def parse_workflow(
    document: Any, registry: Any, *, limits: EngineLimits = DEFAULT_LIMITS
) -> Workflow:
    """The runnable form of ``document``. Raises WorkflowValidationError listing every problem."""
    workflow, issues = _Compiler(registry, limits).compile(document)
    if issues or workflow is None:
        raise WorkflowValidationError(issues)
    return workflow


class _TooManySteps(Exception):
    """Raised in the walk as soon as the document holds more steps than the limit."""


class _Compiler:
    """One walk over the document that validates, builds the NodeSteps and counts the steps.

    The count is ``count_steps``'s, taken along the way: every step the walk visits counts one,
    and the parts it does not enter (an unknown node's edges, a list where a step belongs, a
    jump) are counted by ``count_steps`` itself, so the limit means the same with or without
    errors. Past the limit the walk stops at once; the document's only issue is then that one.
    """

    def __init__(self, registry: Any, limits: EngineLimits = DEFAULT_LIMITS) -> None:
        self.registry = registry
        self.max_steps = limits.max_steps
        self.counted = 0
        self.issues: list[ValidationIssue] = []
        self.top_steps: list[Any] = []
        self._top_keys: dict[str, int] | None = None
        # answers that recur from step to step, found once per document
        self.known_types: dict[str, bool] = {}
        self.param_names: set[str] = set()
        self.setter_paths: dict[str, StatePath] = {}

    def issue(self, path: str, message: str, code: str = SCHEMA) -> None:
        self.issues.append(ValidationIssue(path, message, code))

    def count(self, steps: int) -> None:
        self.counted += steps
        if self.counted > self.max_steps:
            raise _TooManySteps

    def count_unvisited(self, parts: list[Any]) -> None:
        """Count what the walk does not enter, as ``count_steps`` would."""
        self.count(count_steps(parts, self.max_steps - self.counted))

    def compile(self, document: Any) -> tuple[Workflow | None, list[ValidationIssue]]:
        self.issues.extend(schema_issues(document))
        if not isinstance(document, dict) or not isinstance(document.get("workflow"), list):
            return None, self.issues
        self.top_steps = raw_steps = document["workflow"]
        try:
            with _collector_paused():
                steps = tuple(
                    [
                        self.step(raw, f"/workflow/{index}", True, 0)
                        for index, raw in enumerate(raw_steps)
                    ]
                )
        except _TooManySteps:
            self.issues = []
            self.issue(
                "/workflow",
                f"the workflow has more than {self.max_steps:,} steps (nested steps count), "
                "the limit (max_workflow_steps)",
                TOO_MANY_STEPS,
            )
            return None, self.issues
        if self.issues:
            return None, self.issues
        workflow = Workflow(
            id=document["id"],
            name=document["name"],
            version=document["version"],
            description=document.get("description", ""),
            steps=steps,  # type: ignore[arg-type]
            initial_state=document.get("initialState") or {},
            max_loop_iterations=document.get("maxLoopIterations", 1000),
            timeout_seconds=document.get("timeoutSeconds"),
            on_unhandled_error=document.get("onUnhandledError", "continue"),
            document=document,
        )
        return workflow, self.issues

    @property
    def top_keys(self) -> dict[str, int]:
        """Top-level step keys (first occurrence wins) by index: built when a top-level edge
        first names a step, which a workflow without jumps never does."""
        if self._top_keys is None:
            keys: dict[str, int] = {}
            for index, raw in enumerate(self.top_steps):
                key = _step_key(raw)
                if key is not None and key not in keys:
                    keys[key] = index
            self._top_keys = keys
        return self._top_keys

    # -- steps ---------------------------------------------------------------------------------

    def step(self, raw: Any, path: str, top: bool, depth: int) -> NodeStep | None:
        if isinstance(raw, list):  # counted item by item, as count_steps flattens lists
            self.count_unvisited([raw])
        else:
            self.counted += 1  # self.count(1), inline: this runs for every step
            if self.counted > self.max_steps:
                raise _TooManySteps
        if depth > _MAX_DEPTH:
            if not isinstance(raw, list):
                self.count_unvisited(_edge_targets(raw))
            self.issue(path, f"steps are nested more than {_MAX_DEPTH} levels deep")
            return None
        if isinstance(raw, dict):
            if len(raw) == 1:
                ((key, config),) = raw.items()
                here = path + "/" + key if "~" not in key and "/" not in key else None
                return self.node(key, config, path, here or pointer_join(path, key), top, depth)
            found = ", ".join(repr(k) for k in raw) or "none"
            self.issue(
                path,
                f"a step object has exactly one key, the node type; found {len(raw)}: {found}",
            )
            return None
        if isinstance(raw, str):
            if not raw:
                self.issue(path, "a step cannot be an empty string")
                return None
            return self.node(raw, {}, path, path, top, depth)
        self.issue(
            path,
            f"a step is a node type (string) or an object with one key, not {type_name(raw)}",
        )
        return None

    def node(
        self, key: str, config: Any, step_path: str, path: str, top: bool, depth: int
    ) -> NodeStep | None:
        if key[:2] == "$.":
            return self.setter(key, config, path, top, depth)
        loop = key[-3:] == "..."
        node_type = key[:-3] if loop else key
        known = self.known_types.get(node_type)
        if not (known if known is not None else self.is_node_type(node_type)):
            self.count_unvisited(_edge_targets({key: config}))
            hint = _suggest(node_type, list(self.registry))
            self.issue(step_path, f"unknown node type {node_type!r}{hint}", NOT_FOUND)
            return None
        if config is None:
            config = {}
        if not isinstance(config, dict):
            self.issue(
                path, f"the configuration of {key!r} must be an object, not {type_name(config)}"
            )
            return None
        params: dict[str, Any] = {}
        edges: dict[str, Target] | None = None  # most steps have none: they share _NO_EDGES
        timeout, retry = None, None
        param_names = self.param_names
        for name, value in config.items():
            if name in param_names and value is not None:  # the common case, first
                params[name] = value
            elif name[-1:] == "?":
                here = pointer_join(path, name)
                if edges is None:
                    edges = {}
                edges[name[:-1]] = self.target(value, here, top, depth)
            elif name[:1] == "_":
                here = pointer_join(path, name)
                timeout, retry = self.reserved(name, value, here, timeout, retry)
            elif value is not None and _is_param_name(name):
                param_names.add(name)
                params[name] = value
            elif value is None:
                self.issue(
                    pointer_join(path, name), f"parameter {name!r} is null; leave it out instead"
                )
            else:
                self.issue(
                    pointer_join(path, name), f"parameter name {name!r} must match ^[A-Za-z0-9_-]+$"
                )
        # positional: a NodeStep is built for every step, and keywords cost twice as much;
        # its parameters are compiled on its first run (model.NodeStep)
        edges_or_none = _NO_EDGES if edges is None else edges
        return NodeStep(key, node_type, path, loop, params, edges_or_none, timeout, retry)

    def is_node_type(self, name: str) -> bool:
        known = self.known_types.get(name)
        if known is None:
            known = self.known_types[name] = name in self.registry
        return known

    def setter(self, key: str, config: Any, path: str, top: bool, depth: int) -> NodeStep:
        state_path = self.setter_paths.get(key)
        if state_path is None:
            try:
                state_path = self.setter_paths[key] = parse_path(key)
            except StateReferenceError:
                self.issue(
                    path,
                    f"{key!r} is not a valid state setter: use $.name or $.a.b (letters, "
                    "digits, _ and -, [n] for a list index)",
                    BAD_SETTER,
                )
                state_path = ()
        edges: Mapping[str, Target] = _NO_EDGES
        params: dict[str, Any] = {}
        if isinstance(config, dict):
            data = {k: v for k, v in config.items() if not k.endswith("?")}
            found: dict[str, Target] = {}
            for name, target in config.items():
                if name.endswith("?"):
                    here = pointer_join(path, name)
                    found[name[:-1]] = self.target(target, here, top, depth)
            edges = found or _NO_EDGES
            if "value" in data:
                params["value"] = data["value"]
            elif data:
                params["value"] = data
        else:
            params["value"] = config
        return NodeStep(key, SETTER, path, False, params, edges, None, None, state_path)

    def reserved(
        self, name: str, value: Any, path: str, timeout: float | None, retry: RetryPolicy | None
    ) -> tuple[float | None, RetryPolicy | None]:
        if name == "_timeoutSeconds":
            if _is_number(value) and value > 0:
                return float(value), retry
            self.issue(path, "_timeoutSeconds must be a number greater than 0")
        elif name == "_retry":
            policy = self.retry_policy(value, path)
            return timeout, policy or retry
        else:
            self.issue(
                path, f"{name!r}: keys starting with _ are reserved ({', '.join(_RESERVED)})"
            )
        return timeout, retry

    def retry_policy(self, value: Any, path: str) -> RetryPolicy | None:
        if not isinstance(value, dict):
            self.issue(path, '_retry must be an object like {"maxAttempts": 3}')
            return None
        known = {"maxAttempts", "delaySeconds", "backoff"}
        for extra in sorted(set(value) - known):
            self.issue(pointer_join(path, extra), f"unknown _retry field {extra!r}")
        attempts = value.get("maxAttempts", 3)
        delay = value.get("delaySeconds", 1)
        backoff = value.get("backoff", 2)
        ok = True
        if not (isinstance(attempts, int) and not isinstance(attempts, bool) and attempts >= 1):
            self.issue(pointer_join(path, "maxAttempts"), "maxAttempts must be an integer >= 1")
            ok = False
        if not (_is_number(delay) and delay >= 0):
            self.issue(pointer_join(path, "delaySeconds"), "delaySeconds must be a number >= 0")
            ok = False
        if not (_is_number(backoff) and backoff >= 1):
            self.issue(pointer_join(path, "backoff"), "backoff must be a number >= 1")
            ok = False
        return RetryPolicy(attempts, float(delay), float(backoff)) if ok else None

    # -- edge targets -------------------------------------------------------------------------

    def target(self, raw: Any, path: str, top: bool, depth: int) -> Target:
        if raw is None:
            return None
        if isinstance(raw, str):
            if top and raw in self.top_keys:
                self.count(1)
                return Jump(self.top_keys[raw], raw)
            base = raw[:-3] if raw.endswith("...") else raw
            if raw.startswith("$.") or self.is_node_type(base):
                step = self.step(raw, path, False, depth + 1)
                return (step,) if step is not None else None
            self.count(1)
            where = (
                "a top-level step or a registered node type"
                if top
                else "a registered node type (jumps to top-level steps only work at top level)"
            )
            self.issue(path, f"edge target {raw!r} is not {where}", BAD_TARGET)
            return None
        if isinstance(raw, dict):
            step = self.step(raw, path, False, depth + 1)
            return (step,) if step is not None else None
        if isinstance(raw, list):
            steps = [
                self.step(item, pointer_join(path, i), False, depth + 1)
                for i, item in enumerate(raw)
            ]
            return tuple(s for s in steps if s is not None)
        self.count(1)
        self.issue(
            path,
            f"an edge target is a step name, an inline node, a list of steps or null, "
            f"not {type_name(raw)}",
        )
        return None


def count_steps(steps: Any, limit: int) -> int:
    """How many steps ``steps`` (a document's ``workflow``) holds, nested edge targets
    included; the count stops just past ``limit``, so a huge document costs no more than that.
    Malformed parts count as one step (validation says what is wrong with them)."""
    if not isinstance(steps, list):
        return 0
    count = 0
    pending: list[Any] = list(reversed(steps))
    while pending:
        raw = pending.pop()
        if isinstance(raw, list):
            pending.extend(reversed(raw))
            continue
        count += 1
        if count > limit:
            return count
        if isinstance(raw, dict) and len(raw) == 1:
            config = next(iter(raw.values()))
            if isinstance(config, dict):
                pending.extend(
                    v for k, v in config.items() if str(k).endswith("?") and v is not None
                )
    return count


def pointer_join(path: str, part: str | int) -> str:
    return path + _escape(part)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the steps are built, then as it was.

    The walk creates no reference cycles, but it allocates a few objects per step, and every
    few hundred allocations Python's collector runs; its full passes traverse the whole heap,
    document included, so with it on a 100,000-step parse costs half as much again per step as
    a 1,000-step one. Off, the cost per step stays flat. (Another thread that turns the
    collector off meanwhile finds it on again afterwards: a delay in collecting, no leak.)
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _edge_targets(raw: Any) -> list[Any]:
    """The edge targets of a step as ``count_steps`` finds them (none unless ``raw`` is an
    object of one key whose configuration is an object)."""
    if isinstance(raw, dict) and len(raw) == 1:
        config = next(iter(raw.values()))
        if isinstance(config, dict):
            return [v for k, v in config.items() if str(k).endswith("?") and v is not None]
    return []


def _is_param_name(name: str) -> bool:
    # the common names (letters and digits) without the regular expression
    return (name.isascii() and name.isalnum()) or _PARAM_KEY.match(name) is not None


def _step_key(raw: Any) -> str | None:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, dict) and len(raw) == 1:
        return str(next(iter(raw)))
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _suggest(name: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""
