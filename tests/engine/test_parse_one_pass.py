"""The parser's single walk: it counts the steps as ``count_steps`` does, does the same work
for every step (so its cost grows linearly), pauses the garbage collector, and leaves the
parameters to be compiled when a step first runs. No test here measures time: work is counted
(function calls, compilations); ``bench/engine.py`` (d) and (d2) show the times."""

from __future__ import annotations

import gc
import random
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

import workscript_jupyter.engine.model as model_module
from workscript_jupyter.engine import EngineLimits, Execution, NodeRegistry
from workscript_jupyter.engine.parse import count_steps, parse_workflow, validate_workflow
from workscript_jupyter.engine.state import compile_value
from workscript_jupyter.nodes import builtin_registry

REGISTRY = builtin_registry(plugins=False)
TOO_MANY = "TOO_MANY_STEPS"


def doc(steps: Any) -> dict[str, Any]:
    return {"id": "wf", "name": "Test", "version": "1.0.0", "workflow": steps}


def flat(steps: int) -> dict[str, Any]:
    """bench/engine.py's flat workflow, every step a new object as a parsed file has them."""
    cycle: list[Callable[[], dict[str, Any]]] = [
        lambda: {"math": {"operation": "add", "values": ["$.i", 1]}},
        lambda: {"$.i": "$.mathResult"},
        lambda: {"log": {"message": "i is {{$.i}}"}},
    ]
    return doc([cycle[n % 3]() for n in range(steps)])


def too_many(document: dict[str, Any], limit: int) -> bool:
    issues = validate_workflow(document, REGISTRY, limits=EngineLimits(max_steps=limit))
    return [i.code for i in issues] == [TOO_MANY]


# -- the count taken along the walk ---------------------------------------------------------------


def chain(depth: int) -> dict[str, Any]:
    """A step with ``depth`` steps nested below it, each the only edge target of the last."""
    step: dict[str, Any] = {"log": {}}
    for _ in range(depth):
        step = {"empty": {"success?": step}}
    return step


# parts the walk does not enter, which count_steps counts all the same
UNVISITED = {
    "an unknown node's edges": [{"nope": {"a?": ["empty", "empty", "empty"], "b?": "log"}}],
    "a list where a step belongs": [["empty", ["empty", "empty"]], "log"],
    "jumps to top-level steps": ["s0", {"empty": {"x?": "s0", "y?": "s0"}}, "s0"],
    "bad edge targets": [{"empty": {"a?": "nowhere", "b?": 7, "c?": True}}],
    "steps nested past the depth limit": [chain(70)],
    "a setter's edges": [{"$.a": {"value": 1, "next?": ["empty", {"empty": {"x?": "log"}}]}}],
    "null edges and a null config": [{"empty": {"a?": None}}, {"empty": None}],
}


@pytest.mark.parametrize("steps", UNVISITED.values(), ids=UNVISITED.keys())
def test_the_limit_falls_exactly_where_count_steps_puts_it(steps: list[Any]) -> None:
    document = doc(steps)
    total = count_steps(steps, 10**6)
    assert total > 1
    for limit in range(1, total + 2):
        assert too_many(document, limit) == (total > limit), limit


def generated_step(r: random.Random, depth: int) -> Any:
    kind = r.random()
    if kind < 0.2:
        return r.choice(["log", "empty", "nope", "s0", "$.a", "", 3, None, [], ["log", "empty"]])
    node = r.choice(["log", "empty", "nope", "$.a", "$.bad key", "range...", "empty..."])
    config: dict[str, Any] = {}
    for _ in range(r.randint(0, 3)):
        edge = r.choice(["success?", "error?", "x?", "message", "_retry"])
        if edge.endswith("?") and depth < 4:
            config[edge] = r.choice(
                [
                    None,
                    "log",
                    "s0",
                    "nowhere",
                    7,
                    generated_step(r, depth + 1),
                    [generated_step(r, depth + 1) for _ in range(r.randint(0, 3))],
                ]
            )
        else:
            config[edge] = r.choice(["x", None, {"maxAttempts": 0}])
    return {node: r.choice([config, config, None, "not an object"])}


def test_the_limit_agrees_with_count_steps_on_generated_workflows() -> None:
    for seed in range(300):
        r = random.Random(seed)
        steps = [generated_step(r, 0) for _ in range(r.randint(1, 6))]
        if r.random() < 0.5:
            steps[0] = {"s0": {}}
        total = count_steps(steps, 10**6)
        for limit in {1, max(1, total - 1), max(1, total), total + 1}:
            assert too_many(doc(steps), limit) == (total > limit), (seed, limit)


def test_past_the_limit_the_walk_stops() -> None:
    """A document of a million steps costs no more than the limit's worth of walking."""
    registry = CountingRegistry()
    issues = validate_workflow(
        doc(["empty"] * 1_000_000), registry, limits=EngineLimits(max_steps=100)
    )
    assert [i.code for i in issues] == [TOO_MANY]
    assert registry.asked <= 1  # the type was looked up once, at the first step


class CountingRegistry(NodeRegistry):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0
        self.collector_on: list[bool] = []
        self.inner = builtin_registry(plugins=False)

    def __contains__(self, node_type: object) -> bool:
        self.asked += 1
        self.collector_on.append(gc.isenabled())
        return node_type in self.inner


# -- one pass, linear work ------------------------------------------------------------------------


def calls_to_parse(document: dict[str, Any]) -> int:
    """How many Python and C functions parsing ``document`` calls (a deterministic measure of
    its work, unlike a time)."""
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    # garbage left by earlier tests in this process (sockets, clients with finalizers) must
    # not be collected, its finalizers counted, inside the measurement
    gc.collect()
    sys.setprofile(profile)
    try:
        parse_workflow(document, REGISTRY)
    finally:
        sys.setprofile(None)
    return calls


class Watched(dict[str, Any]):
    """A step object that records every walk over it."""

    walks: Counter[int] = Counter()

    def _walked(self) -> None:
        Watched.walks[id(self)] += 1

    def items(self) -> Any:
        self._walked()
        return super().items()

    def values(self) -> Any:
        self._walked()
        return super().values()

    def keys(self) -> Any:
        self._walked()
        return super().keys()

    def __iter__(self) -> Any:
        self._walked()
        return super().__iter__()


def test_each_step_is_walked_once() -> None:
    """One pass: no count before the walk, no index of step names (there is no jump here)."""
    Watched.walks.clear()
    steps = [Watched({"math": Watched(operation="add", values=["$.i", 1])}) for _ in range(50)]
    steps += [Watched({"log": Watched({"message": "x", "success?": Watched({"empty": {}})})})]
    parse_workflow(doc(steps), REGISTRY)
    assert len(Watched.walks) == 50 * 2 + 3  # every step object and config was walked...
    assert set(Watched.walks.values()) == {1}  # ...once


def test_the_work_per_step_is_the_same_at_any_size() -> None:
    small, medium, large = (calls_to_parse(flat(n)) for n in (300, 600, 2_400))
    per_step = (medium - small) / 300
    assert per_step < 20  # a handful of calls per step, whatever the step
    assert large - medium == (2_400 - 600) * per_step  # exactly linear: one pass, no rescans


def test_each_node_type_is_looked_up_once_per_document() -> None:
    registry = CountingRegistry()
    parse_workflow(flat(900), registry)
    assert registry.asked == 2  # math and log; setters are the engine's own


def test_the_collector_is_paused_during_the_walk_and_restored() -> None:
    registry = CountingRegistry()
    assert gc.isenabled()
    parse_workflow(flat(30), registry)
    assert registry.collector_on == [False, False]
    assert gc.isenabled()
    gc.disable()
    try:  # off before, off after
        parse_workflow(flat(30), CountingRegistry())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_restored_when_the_walk_fails() -> None:
    class Broken(CountingRegistry):
        def __contains__(self, node_type: object) -> bool:
            raise RuntimeError("registry down")

    with pytest.raises(RuntimeError, match="registry down"):
        parse_workflow(flat(3), Broken())
    assert gc.isenabled()


# -- parameters compiled on a step's first run ----------------------------------------------------


def counting_compiles(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    compiled: Counter[str] = Counter()
    real: Callable[[Any], Any] = compile_value

    def counted(value: Any) -> Any:
        compiled[repr(value)] += 1
        return real(value)

    monkeypatch.setattr(model_module, "compile_value", counted)
    return compiled


def test_parsing_compiles_no_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = counting_compiles(monkeypatch)
    workflow = parse_workflow(flat(300), REGISTRY)
    assert len(workflow.steps) == 300
    assert not compiled


async def test_a_step_is_compiled_once_on_its_first_run(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = counting_compiles(monkeypatch)
    workflow = parse_workflow(
        doc(
            [
                {
                    "range...": {
                        "stop": 4,
                        "current_step?": [
                            {"math": {"operation": "add", "values": ["$.total", "$.rangeValue"]}},
                            {"$.total": "$.mathResult"},
                        ],
                    }
                },
                {"logic": {"operation": "equal", "values": [1, 2], "true?": {"log": {}}}},
            ]
        ),
        REGISTRY,
    )
    result = await Execution(workflow, REGISTRY, initial_state={"total": 0}).run()
    assert result.status == "completed", result.error
    assert result.final_state["total"] == 6
    # each step that ran, once, however often it ran; the log of the branch not taken, never
    assert sorted(compiled.values()) == [1, 1, 1, 1]
    assert "{'message'" not in "".join(compiled)


def test_compiled_on_first_use_the_step_reads_as_before() -> None:
    step = parse_workflow(doc([{"log": {"message": "hi {{$.who}}", "n": [1]}}]), REGISTRY).steps[0]
    assert step.resolve is not None
    assert step.resolved_params({"who": "you"}) == {"message": "hi you", "n": [1]}
    literal = parse_workflow(doc([{"log": {"message": "hi", "n": [1]}}]), REGISTRY).steps[0]
    assert literal.resolve is None and literal.literal_containers
    first = literal.resolved_params({})
    first["n"].append(2)  # a node changing what it was given changes no later run
    assert literal.resolved_params({}) == {"message": "hi", "n": [1]}


@pytest.mark.parametrize(
    "value",
    [
        "{{$.}}",
        "{{ $.a[ }}",
        "{{$.a..b}}",
        "$.",
        "$.a b",
        "{{$.a}} {{",
        "}}{{$.b}}",
        "$.a[-1].b",
        {"k": ["{{$.x}}", "$.", {"d": "$.y[0"}]},
        "\u00e9{{$.\u00e9}}",
    ],
)
def test_compiling_never_refuses_a_value(value: Any) -> None:
    """What lets the parser leave compiling to the first run: ``compile_value`` has no error of
    its own (a string that is not a reference is a literal), so validation misses nothing."""
    compile_value(value)
