"""DirectAIGateway (the AIGateway of a kernel and the CLI) against the OpenRouter stand-in:
whole and streamed answers, JSON, the protocol's result, errors, and a new event loop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.standins import KEY, OpenRouterStandIn
from tests.standins.fixtures import openrouter_fixture  # noqa: F401  (the fixture)
from workscript_jupyter.errors import AIError, ConfigurationError
from workscript_jupyter.integrations import AIConfig, DirectAIGateway, OpenRouterClient

ASK = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


def _gateway(stand_in: OpenRouterStandIn, **config: Any) -> DirectAIGateway:
    values: dict[str, Any] = {"api_key": KEY, "base_url": stand_in.base_url, "backoff_base": 0.01}
    values.update(config)
    return DirectAIGateway(OpenRouterClient(AIConfig(**values)))


def _chat(gateway: DirectAIGateway, **arguments: Any) -> Any:
    async def go() -> Any:
        try:
            return await gateway.chat(**{"messages": ASK, "options": {}, **arguments})
        finally:
            await gateway.aclose()

    return asyncio.run(go())


def _fails(gateway: DirectAIGateway, **arguments: Any) -> AIError:
    with pytest.raises(AIError) as caught:
        _chat(gateway, **arguments)
    return caught.value


def test_a_whole_answer_in_the_protocols_shape(openrouter: OpenRouterStandIn) -> None:
    answer = _chat(
        _gateway(openrouter), model="test/echo", options={"temperature": 0.3, "max_tokens": 9}
    )
    assert answer["content"] == "echo: hi" and answer["model"] == "test/echo"
    assert answer["usage"] == {"promptTokens": 7, "completionTokens": 3, "totalTokens": 10}
    assert answer["cost"] is None and answer["finishReason"] == "stop"
    assert answer["id"] == "gen-1"
    assert isinstance(answer["durationMs"], int) and answer["durationMs"] >= 0
    sent = openrouter.requests[-1]["body"]
    assert sent["messages"] == ASK and sent["temperature"] == 0.3 and sent["max_tokens"] == 9
    assert "stream" not in sent


def test_on_text_streams_and_sees_the_text_grow_before_the_end(
    openrouter: OpenRouterStandIn,
) -> None:
    seen: list[tuple[str, bool]] = []

    async def go() -> dict[str, Any]:
        gateway = _gateway(openrouter)
        finished = asyncio.Event()

        def on_text(text: str) -> None:
            seen.append((text, finished.is_set()))

        try:
            answer = await gateway.chat(
                model="test/slow-stream", messages=ASK, options={}, on_text=on_text
            )
            finished.set()
            return answer
        finally:
            await gateway.aclose()

    answer = asyncio.run(go())
    whole = "The answer arrives slowly, piece by piece."
    assert answer["content"] == whole and answer["finishReason"] == "stop"
    assert answer["usage"]["totalTokens"] == 8 and answer["model"] == "test/slow-stream"
    assert openrouter.requests[-1]["body"]["stream"] is True
    texts = [text for text, _ in seen]
    assert len(texts) >= 4, texts  # pieces 0.2 s apart: one call each, not one at the end
    assert all(not after for _, after in seen)  # every call came before chat returned
    assert all(whole.startswith(t) for t in texts) and texts[-1] == whole
    assert [len(t) for t in texts] == sorted({len(t) for t in texts})  # grows, no repeats


def test_fast_pieces_are_told_at_most_every_interval_and_whole_at_the_end(
    openrouter: OpenRouterStandIn,
) -> None:
    texts: list[str] = []
    gateway = _gateway(openrouter)
    gateway.text_interval = 60.0  # nothing after the first piece until the end
    answer = _chat(gateway, model="test/echo", on_text=texts.append)
    assert answer["content"] == "Hello, world"
    assert texts == ["Hello", "Hello, world"]


def test_json_object_and_json_schema_answers(openrouter: OpenRouterStandIn) -> None:
    answer = _chat(
        _gateway(openrouter),
        model="test/echo",
        options={"response_format": {"type": "json_object"}},
    )
    assert json.loads(answer["content"]) == {"answer": 42}
    schema = {
        "type": "object",
        "required": ["name", "tags"],
        "properties": {"name": {"type": "string"}, "tags": {"type": "array"}},
    }
    form = {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    answer = _chat(_gateway(openrouter), model="test/echo", options={"response_format": form})
    value = json.loads(answer["content"])
    assert isinstance(value["name"], str) and isinstance(value["tags"], list)
    assert openrouter.requests[-1]["body"]["response_format"] == form


def test_a_streamed_json_answer_is_whole_at_the_end(openrouter: OpenRouterStandIn) -> None:
    texts: list[str] = []
    answer = _chat(
        _gateway(openrouter),
        model="test/echo",
        options={"response_format": {"type": "json_object"}},
        on_text=texts.append,
    )
    assert json.loads(answer["content"]) == {"answer": 42} and texts[-1] == answer["content"]


@pytest.mark.parametrize(
    ("model", "code"),
    [
        ("nobody/no-such-model", "MODEL_NOT_FOUND"),
        ("test/bad-request", "INVALID_REQUEST"),
        ("test/fails-forever", "PROVIDER_ERROR"),
    ],
)
def test_provider_failures_raise_their_ai_error(
    openrouter: OpenRouterStandIn, model: str, code: str
) -> None:
    error = _fails(_gateway(openrouter, max_retries=0), model=model)
    assert error.code == code


def test_a_failure_mid_stream_raises_after_the_text_so_far(openrouter: OpenRouterStandIn) -> None:
    texts: list[str] = []
    error = _fails(_gateway(openrouter), model="test/stream-error", on_text=texts.append)
    assert error.code == "PROVIDER_ERROR" and texts and texts[0] == "Hello"


def test_a_wrong_key_is_auth_failed_and_never_shown(openrouter: OpenRouterStandIn) -> None:
    wrong = "sk-or-v1-wrong-key-0000"
    error = _fails(_gateway(openrouter, api_key=wrong), model="test/echo")
    assert error.code == "AUTH_FAILED"
    assert wrong not in error.message and wrong not in json.dumps(error.details)


def test_options_outside_the_chat_options_are_refused_before_a_request(
    openrouter: OpenRouterStandIn,
) -> None:
    before = len(openrouter.requests)
    for options in ({"stream": True}, {"base_url": "http://elsewhere"}, {"model": "x"}):
        error = _fails(_gateway(openrouter), model="test/echo", options=options)
        assert error.code == "INVALID_REQUEST" and "not chat options" in error.message
    assert len(openrouter.requests) == before


def test_from_env_needs_a_key_and_reuses_an_unchanged_gateway(
    openrouter: OpenRouterStandIn,
) -> None:
    assert DirectAIGateway.from_env({}) is None
    assert DirectAIGateway.from_env({"OPENROUTER_API_KEY": "  "}) is None
    assert DirectAIGateway.from_env({"AI_REQUEST_TIMEOUT": "soon"}) is None  # no key: unused
    env = {"OPENROUTER_API_KEY": KEY, "OPENROUTER_BASE_URL": openrouter.base_url}
    first = DirectAIGateway.from_env(env)
    assert first is not None and KEY not in repr(first)
    assert DirectAIGateway.from_env(env, reuse=first) is first
    other = DirectAIGateway.from_env({**env, "AI_REQUEST_TIMEOUT": "5"}, reuse=first)
    assert other is not None and other is not first
    with pytest.raises(ConfigurationError, match="AI_REQUEST_TIMEOUT"):
        DirectAIGateway.from_env({**env, "AI_REQUEST_TIMEOUT": "soon"})
    assert _chat(first, model="test/echo")["content"] == "echo: hi"


def test_a_gateway_serves_runs_on_successive_event_loops(openrouter: OpenRouterStandIn) -> None:
    """A kernel without a running loop runs each workflow in asyncio.run: the gateway must
    not reuse connections that belong to a loop that has ended."""
    gateway = _gateway(openrouter)

    async def ask() -> str:
        answer = await gateway.chat(model="test/echo", messages=ASK, options={})
        return str(answer["content"])

    assert asyncio.run(ask()) == "echo: hi"
    assert asyncio.run(ask()) == "echo: hi"
    asyncio.run(gateway.aclose())


def test_the_cli_gives_ask_ai_a_gateway_from_the_environment(
    openrouter: OpenRouterStandIn,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from workscript_jupyter.cli import main

    step = {
        "ask-ai": {
            "userPrompt": "from the CLI",
            "model": "test/echo",
            "error?": {"$.why": "$._edgeContext.error"},
        }
    }
    document = {"id": "cli-ai", "name": "cli-ai", "version": "1.0.0", "workflow": [step]}
    path = tmp_path / "ai.json"
    path.write_text(json.dumps(document))
    monkeypatch.setenv("OPENROUTER_BASE_URL", openrouter.base_url)
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    assert main(["run", str(path), "--root", str(tmp_path), "--quiet"]) == 0
    assert "OPENROUTER_API_KEY" in json.loads(capsys.readouterr().out)["why"]
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    assert main(["run", str(path), "--root", str(tmp_path), "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["aiResponse"] == "echo: from the CLI"


def test_the_kernel_reads_the_key_before_each_run_and_keeps_an_unchanged_gateway(
    openrouter: OpenRouterStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workscript_jupyter.kernel.magics import _ai_gateway

    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    assert _ai_gateway(None) is None
    monkeypatch.setenv("OPENROUTER_BASE_URL", openrouter.base_url)
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)  # set in a cell: the next run has it
    first = _ai_gateway(None)
    assert isinstance(first, DirectAIGateway) and _ai_gateway(first) is first
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY + "-rotated")
    assert _ai_gateway(first) is not first
    monkeypatch.delenv("OPENROUTER_API_KEY")
    assert _ai_gateway(first) is None
