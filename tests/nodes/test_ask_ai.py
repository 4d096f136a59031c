"""ask-ai through the engine, with Services(ai=DirectAIGateway(...)) on the OpenRouter stand-in:
state keys and their archive, every edge, streaming as node:progress, JSON answers and their
schema, a missing gateway, and hostile parameters (refused before anything is sent)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.standins import KEY, OpenRouterStandIn
from tests.standins.fixtures import openrouter_fixture  # noqa: F401  (the fixture)
from workscript_jupyter.engine import RunResult, Services
from workscript_jupyter.errors import AIBudgetExceededError
from workscript_jupyter.integrations import AIConfig, DirectAIGateway, OpenRouterClient
from workscript_jupyter.nodes.ai import DEFAULT_SYSTEM_PROMPT, MAX_PROMPT_CHARS, TEXT_IN_EVENT
from workscript_jupyter.nodes.ai_json import MAX_SCHEMA_CHARS

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z(#\d+)?$")
SCHEMA = {
    "type": "object",
    "required": ["name", "score"],
    "properties": {"name": {"type": "string"}, "score": {"type": "integer", "minimum": 0}},
}

Runner = Callable[..., RunResult]


def flow(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"id": "ai", "name": "ai", "version": "1.0.0", "workflow": list(steps)}


def ask(**params: Any) -> dict[str, Any]:
    """An ask-ai step whose edges copy their data into $.edge / $.failed."""
    return {
        "ask-ai": {
            "model": "test/echo",
            **params,
            "success?": {"$.edge": "$._edgeContext"},
            "error?": {"$.failed": "$._edgeContext"},
        }
    }


def services(stand_in: OpenRouterStandIn, **config: Any) -> Services:
    values: dict[str, Any] = {"api_key": KEY, "base_url": stand_in.base_url, "backoff_base": 0.01}
    values.update(config)
    return Services(ai=DirectAIGateway(OpenRouterClient(AIConfig(**values))))


def state_of(
    run: Runner, stand_in: OpenRouterStandIn, *steps: dict[str, Any], **options: Any
) -> dict[str, Any]:
    options.setdefault("services", services(stand_in))
    result = run(flow(*steps), options.pop("state", None), **options)
    assert result.status == "completed", result.error
    return result.final_state


# -- answers and state ------------------------------------------------------------------------


def test_an_answer_lands_in_the_state_and_on_the_success_edge(
    run: Runner, openrouter: OpenRouterStandIn
) -> None:
    state = state_of(run, openrouter, ask(userPrompt="hi there", temperature=0.5, maxTokens=64))
    assert state["aiResponse"] == "echo: hi there"
    data = state["aiResponseData"]
    assert data["content"] == "echo: hi there" and data["model"] == "test/echo"
    assert data["id"] == "gen-1" and data["finishReason"] == "stop"
    usage = {"promptTokens": 7, "completionTokens": 3, "totalTokens": 10, "cost": None}
    assert data["usage"] == usage and isinstance(data["durationMs"], int)
    assert "json" not in data and "failed" not in state
    assert state["edge"] == {"content": "echo: hi there", "usage": usage, "model": "test/echo"}
    sent = openrouter.requests[-1]["body"]
    assert sent["messages"] == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "hi there"},
    ]
    assert sent["temperature"] == 0.5 and sent["max_tokens"] == 64 and "stream" not in sent
    assert "PastAIResponses" not in state  # nothing to archive yet


def test_system_prompt_and_earlier_messages_are_sent_in_order(
    run: Runner, openrouter: OpenRouterStandIn
) -> None:
    earlier = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]
    state_of(run, openrouter, ask(userPrompt="and 3+3?", systemPrompt="be terse", messages=earlier))
    assert openrouter.requests[-1]["body"]["messages"] == [
        {"role": "system", "content": "be terse"},
        *earlier,
        {"role": "user", "content": "and 3+3?"},
    ]


def test_earlier_answers_are_archived_by_time(run: Runner, openrouter: OpenRouterStandIn) -> None:
    state = state_of(
        run,
        openrouter,
        ask(userPrompt="first"),
        ask(userPrompt="second"),
        ask(userPrompt="third"),
        state={"aiResponse": "from before"},
    )
    assert state["aiResponse"] == "echo: third"
    past = state["PastAIResponses"]
    assert list(past.values()) == ["from before", "echo: first", "echo: second"]
    assert all(ISO.match(key) for key in past), list(past)
    past_data = state["PastAIResponsesData"]  # no aiResponseData before the first answer
    assert [d["content"] for d in past_data.values()] == ["echo: first", "echo: second"]
    assert all(ISO.match(key) for key in past_data)


# -- streaming --------------------------------------------------------------------------------


def test_a_watched_run_streams_the_text_as_node_progress(
    run: Runner, openrouter: OpenRouterStandIn
) -> None:
    events: list[Any] = []
    state = state_of(
        run, openrouter, ask(userPrompt="tell me", model="test/slow-stream"), on_event=events.append
    )
    whole = "The answer arrives slowly, piece by piece."
    assert state["aiResponse"] == whole
    assert openrouter.requests[-1]["body"]["stream"] is True
    kinds = [e.type for e in events]
    progress = [e.payload for e in events if e.type == "node:progress"]
    assert len(progress) >= 4, progress  # several before the end, not one at the end
    assert all(p["nodeType"] == "ask-ai" and p["unit"] == "chars" for p in progress)
    assert all(whole.startswith(p["text"]) and p["chars"] == len(p["text"]) for p in progress)
    assert progress[-1]["text"] == whole and not progress[-1]["truncated"]
    assert kinds.index("node:started") < kinds.index("node:progress")
    assert max(i for i, k in enumerate(kinds) if k == "node:progress") < kinds.index(
        "node:completed"
    )


def test_a_long_streamed_text_is_cut_to_its_tail_in_events(
    run: Runner, openrouter: OpenRouterStandIn
) -> None:
    events: list[Any] = []
    long_text = {"type": "string", "minLength": TEXT_IN_EVENT + 1000}
    state_of(run, openrouter, ask(userPrompt="x", jsonSchema=long_text), on_event=events.append)
    last = [e.payload for e in events if e.type == "node:progress"][-1]
    assert last["chars"] == TEXT_IN_EVENT + 1002  # the JSON string's quotes
    assert len(last["text"]) == TEXT_IN_EVENT and last["truncated"] and last["text"][-1] == '"'


def test_no_stream_without_a_watcher_or_with_stream_false(
    run: Runner, openrouter: OpenRouterStandIn
) -> None:
    state_of(run, openrouter, ask(userPrompt="a"))
    assert "stream" not in openrouter.requests[-1]["body"]
    events: list[Any] = []
    state_of(run, openrouter, ask(userPrompt="b", stream=False), on_event=events.append)
    assert "stream" not in openrouter.requests[-1]["body"]
    assert not [e for e in events if e.type == "node:progress"]


# -- JSON answers -----------------------------------------------------------------------------


def test_response_format_json_parses_the_answer(run: Runner, openrouter: OpenRouterStandIn) -> None:
    state = state_of(run, openrouter, ask(userPrompt="give json", responseFormat="json"))
    assert state["aiResponseData"]["json"] == {"answer": 42}
    assert state["edge"]["json"] == {"answer": 42} and state["aiResponse"] == '{"answer": 42}'
    sent = openrouter.requests[-1]["body"]
    assert sent["response_format"] == {"type": "json_object"}
    assert "JSON" in sent["messages"][0]["content"]  # JSON mode wants the word in the prompt


def test_a_json_schema_is_sent_and_the_answer_checked_against_it(
    run: Runner, openrouter: OpenRouterStandIn
) -> None:
    events: list[Any] = []
    state = state_of(
        run, openrouter, ask(userPrompt="rate it", jsonSchema=SCHEMA), on_event=events.append
    )
    value = state["aiResponseData"]["json"]
    assert isinstance(value["name"], str) and value["score"] == 0
    form = openrouter.requests[-1]["body"]["response_format"]
    assert form == {"type": "json_schema", "json_schema": {"name": "response", "schema": SCHEMA}}
    assert openrouter.requests[-1]["body"]["stream"] is True  # streamed, parsed at the end


def test_invalid_json_takes_the_error_edge(run: Runner, openrouter: OpenRouterStandIn) -> None:
    state = state_of(
        run, openrouter, ask(userPrompt="x", model="test/json-invalid", responseFormat="json")
    )
    failed = state["failed"]
    assert failed["code"] == "INVALID_JSON" and "the model's answer" in failed["error"]
    assert failed["content"].startswith('{"answer": 42')
    assert "aiResponse" not in state and "edge" not in state


def test_a_schema_violation_names_the_path_of_the_first_one(
    run: Runner, openrouter: OpenRouterStandIn
) -> None:
    state = state_of(
        run, openrouter, ask(userPrompt="x", model="test/json-mismatch", jsonSchema=SCHEMA)
    )
    failed = state["failed"]
    assert failed["code"] == "SCHEMA_MISMATCH" and failed["path"] == "/name"
    assert "/name" in failed["error"] and "string" in failed["error"]
    assert failed["problems"][0]["pointer"] == "/name" and failed["problemCount"] == 1
    assert failed["json"]["name"] == [] and failed["usage"]["totalTokens"] == 10
    assert "aiResponse" not in state


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('```json\n{"ok": true}\n```', {"ok": True}),
        ("  ```\n[1, 2]\n```  ", [1, 2]),
        ('{"plain": 1}', {"plain": 1}),
    ],
)
def test_the_parser_drops_a_surrounding_fence(text: str, value: Any) -> None:
    import asyncio

    from workscript_jupyter.engine import NodeContext
    from workscript_jupyter.nodes.ai_json import parse_answer

    ctx = NodeContext({}, node_id="a", node_type="ask-ai", node_path="/workflow/0")
    assert asyncio.run(parse_answer(ctx, text, None)) == value


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "nope"}, "not a valid JSON Schema"),
        ([1, 2], "must be a JSON Schema object"),
        ({"description": "x" * MAX_SCHEMA_CHARS}, "at most"),
        ({"type": "string", "pattern": "(a+)+$" * 200}, "jsonSchema"),
    ],
)
def test_a_bad_schema_is_refused_before_any_request(
    run: Runner, openrouter: OpenRouterStandIn, schema: Any, words: str
) -> None:
    before = len(openrouter.requests)
    state = state_of(run, openrouter, ask(userPrompt="x", jsonSchema=schema))
    assert state["failed"]["code"] == "INVALID_SCHEMA" and words in state["failed"]["error"]
    assert len(openrouter.requests) == before


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ai_services", [Services(), None], ids=["no-gateway", "no-services"])
def test_without_a_gateway_the_error_edge_says_how_to_get_one(
    run: Runner, openrouter: OpenRouterStandIn, ai_services: Services | None
) -> None:
    result = run(flow(ask(userPrompt="hi")), services=ai_services)
    failed = result.final_state["failed"]
    assert failed["code"] == "MISSING_API_KEY" and "OPENROUTER_API_KEY" in failed["error"]


@pytest.mark.parametrize(
    ("model", "code"),
    [
        ("nobody/no-such-model", "MODEL_NOT_FOUND"),
        ("test/bad-request", "INVALID_REQUEST"),
        ("test/rate-limited-forever", "RATE_LIMITED"),
        ("test/stream-error", "PROVIDER_ERROR"),
    ],
)
def test_provider_failures_take_the_error_edge_with_their_code(
    run: Runner, openrouter: OpenRouterStandIn, model: str, code: str
) -> None:
    events: list[Any] = []  # watched: test/stream-error fails mid-stream
    state = state_of(
        run,
        openrouter,
        ask(userPrompt="x", model=model),
        services=services(openrouter, max_retries=0),
        on_event=events.append,
    )
    assert state["failed"]["code"] == code and state["failed"]["error"]
    assert KEY not in str(state["failed"])
    if code == "RATE_LIMITED":
        assert state["failed"]["retryAfter"] == 0.05
    assert "aiResponse" not in state


def test_a_servers_refusal_is_an_error_edge_with_its_code(run: Runner) -> None:
    """What the server's gateway raises before calling the provider (a spent budget)."""

    class SpentBudget:
        async def chat(self, **_: Any) -> dict[str, Any]:
            raise AIBudgetExceededError("this month's AI budget is spent", retry_after=3600.0)

    result = run(flow(ask(userPrompt="hi")), services=Services(ai=SpentBudget()))
    failed = result.final_state["failed"]
    assert failed == {
        "error": "this month's AI budget is spent",
        "code": "BUDGET_EXCEEDED",
        "retryAfter": 3600.0,
    }


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({}, "MISSING_USER_PROMPT", "userPrompt"),
        ({"userPrompt": ""}, "MISSING_USER_PROMPT", "userPrompt"),
        ({"userPrompt": "   "}, "MISSING_USER_PROMPT", "whitespace"),
        ({"userPrompt": {"a": 1}}, "INVALID_PARAMETER", "userPrompt must be text"),
        ({"userPrompt": "x" * (MAX_PROMPT_CHARS + 1)}, "INVALID_PARAMETER", "at most"),
        ({"userPrompt": "hi", "model": ""}, "MISSING_MODEL", "model"),
        ({"userPrompt": "hi", "model": "  "}, "MISSING_MODEL", "model"),
        ({"userPrompt": "hi", "model": "gpt 4\n"}, "INVALID_PARAMETER", "model id"),
        ({"userPrompt": "hi", "model": "a/" + "b" * 300}, "INVALID_PARAMETER", "model id"),
        ({"userPrompt": "hi", "systemPrompt": 5}, "INVALID_PARAMETER", "systemPrompt"),
        ({"userPrompt": "hi", "temperature": 2.5}, "INVALID_PARAMETER", "temperature"),
        ({"userPrompt": "hi", "temperature": -0.1}, "INVALID_PARAMETER", "temperature"),
        ({"userPrompt": "hi", "temperature": "hot"}, "INVALID_PARAMETER", "temperature"),
        ({"userPrompt": "hi", "temperature": True}, "INVALID_PARAMETER", "temperature"),
        ({"userPrompt": "hi", "maxTokens": 0}, "INVALID_PARAMETER", "maxTokens"),
        ({"userPrompt": "hi", "maxTokens": 200_001}, "INVALID_PARAMETER", "maxTokens"),
        ({"userPrompt": "hi", "maxTokens": 1.5}, "INVALID_PARAMETER", "maxTokens"),
        ({"userPrompt": "hi", "maxTokens": "100"}, "INVALID_PARAMETER", "maxTokens"),
        ({"userPrompt": "hi", "maxTokens": True}, "INVALID_PARAMETER", "maxTokens"),
        ({"userPrompt": "hi", "messages": "earlier"}, "INVALID_PARAMETER", "messages"),
        (
            {"userPrompt": "hi", "messages": [{"role": "tool", "content": "x"}]},
            "INVALID_PARAMETER",
            "messages[0]",
        ),
        (
            {"userPrompt": "hi", "messages": [{"role": "user", "content": 1}]},
            "INVALID_PARAMETER",
            "messages[0]",
        ),
        (
            {"userPrompt": "hi", "messages": [{"role": "user", "content": "x"}] * 201},
            "INVALID_PARAMETER",
            "at most 200",
        ),
        ({"userPrompt": "hi", "responseFormat": "xml"}, "INVALID_PARAMETER", "responseFormat"),
        (
            {"userPrompt": "hi", "responseFormat": "text", "jsonSchema": SCHEMA},
            "INVALID_PARAMETER",
            "jsonSchema",
        ),
        ({"userPrompt": "hi", "stream": "yes"}, "INVALID_PARAMETER", "stream"),
    ],
)
def test_bad_parameters_take_the_error_edge_before_any_request(
    run: Runner, openrouter: OpenRouterStandIn, params: dict[str, Any], code: str, words: str
) -> None:
    before = len(openrouter.requests)
    step = {"ask-ai": {**params, "error?": {"$.failed": "$._edgeContext"}}}
    if "model" not in params:
        step["ask-ai"]["model"] = "test/echo"
    result = run(flow(step), services=services(openrouter))
    assert result.status == "completed", result.error
    failed = result.final_state["failed"]
    assert failed["code"] == code and words in failed["error"], failed
    assert len(openrouter.requests) == before


def test_a_whole_number_as_a_float_is_a_valid_max_tokens(
    run: Runner, openrouter: OpenRouterStandIn
) -> None:
    state_of(run, openrouter, ask(userPrompt="hi", maxTokens=100.0))
    assert openrouter.requests[-1]["body"]["max_tokens"] == 100


def test_the_run_monitor_shows_the_tail_of_a_streamed_answer() -> None:
    from workscript_jupyter.kernel.monitor import _progress_text

    payload = {"nodePath": "/workflow/0", "text": "x" * 300 + " the\nlast  words", "chars": 9000}
    shown = _progress_text({**payload, "truncated": True})
    assert shown.startswith("/workflow/0: …") and shown.endswith("the last words (9000 chars)")
    assert len(shown) < 220
    cells = _progress_text({"nodePath": "/workflow/1", "done": 2, "total": 5, "unit": "cells"})
    assert cells == "/workflow/1: 2/5 cells"
