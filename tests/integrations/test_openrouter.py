"""The OpenRouter client against the stand-in of tests/standins/openrouter.py: a small tornado
app on 127.0.0.1 speaking OpenAI's chat/completions (plain, SSE, JSON), /models, and the
failures (429, 500, slow, 401, 404)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.standins import KEY, MODELS, OpenRouterStandIn
from tests.standins.fixtures import openrouter_fixture  # noqa: F401  (the fixture)
from workscript_jupyter.errors import (
    AIError,
    AIMissingKeyError,
    ConfigurationError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from workscript_jupyter.integrations import AIConfig, OpenRouterClient


@pytest.fixture(scope="module")
def server(openrouter: OpenRouterStandIn) -> tuple[OpenRouterStandIn, str]:
    """The shared stand-in (tests/standins/openrouter.py) and its base URL."""
    return openrouter, openrouter.base_url


def _config(base: str, **overrides: Any) -> AIConfig:
    values: dict[str, Any] = {
        "api_key": KEY,
        "base_url": base,
        "timeout": 5.0,
        "site_url": "https://example.test/app",
        "site_name": "Workscript Tests",
        "max_retries": 3,
        "backoff_base": 0.01,
    }
    values.update(overrides)
    return AIConfig(**values)


def _run(config: AIConfig, call: Any) -> tuple[Any, OpenRouterClient]:
    async def go() -> Any:
        client = OpenRouterClient(config)
        try:
            return await call(client), client
        finally:
            await client.aclose()

    return asyncio.run(go())  # type: ignore[no-any-return]


def _fails(config: AIConfig, call: Any) -> tuple[AIError, OpenRouterClient]:
    async def go() -> tuple[AIError, OpenRouterClient]:
        client = OpenRouterClient(config)
        try:
            await call(client)
        except AIError as error:
            return error, client
        finally:
            await client.aclose()
        raise AssertionError("the call did not fail")

    error, client = asyncio.run(go())
    _assert_no_key(error)
    return error, client


def _assert_no_key(error: AIError) -> None:
    for text in (str(error), repr(error), error.message, json.dumps(error.details, default=str)):
        assert KEY not in text
        assert "0123456789abcdef" not in text


ASK = [{"role": "user", "content": "hi"}]


# -- configuration ----------------------------------------------------------------------------


def test_from_env_reads_the_five_names_and_never_shows_the_key() -> None:
    config = AIConfig.from_env(
        {
            "OPENROUTER_API_KEY": KEY,
            "OPENROUTER_BASE_URL": "http://gateway.local:8080/v1/",
            "AI_REQUEST_TIMEOUT": "12.5",
            "OPENROUTER_SITE_URL": "https://site.test",
            "OPENROUTER_SITE_NAME": "Site",
        }
    )
    assert config.api_key == KEY
    assert config.base_url == "http://gateway.local:8080/v1"
    assert config.timeout == 12.5
    assert (config.site_url, config.site_name) == ("https://site.test", "Site")
    assert KEY not in repr(config) and KEY not in str(config)
    assert KEY not in repr(OpenRouterClient(config))
    defaults = AIConfig.from_env({})
    assert defaults.api_key is None and defaults.base_url == "https://openrouter.ai/api/v1"
    assert defaults.timeout == 30.0 and defaults.max_retries == 3


@pytest.mark.parametrize("value", ["abc", "0", "-3", "nan", "inf"])
def test_a_bad_timeout_is_a_clear_configuration_error(value: str) -> None:
    with pytest.raises(ConfigurationError, match="AI_REQUEST_TIMEOUT"):
        AIConfig.from_env({"AI_REQUEST_TIMEOUT": value})


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("base_url", "ftp://x", "base URL"),
        ("max_retries", -1, "max_retries"),
        ("max_retries", 2.5, "max_retries"),
        ("site_name", "a\r\nX-Evil: 1", "site_name"),
        ("backoff_base", -1, "backoff_base"),
    ],
)
def test_bad_config_values_are_refused(field: str, value: Any, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        AIConfig(api_key=KEY, **{field: value})


def test_no_key_raises_missing_api_key_before_any_request(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    stand_in, base = server
    before = len(stand_in.requests)
    for key in (None, "", "   "):
        error, client = _fails(_config(base, api_key=key), lambda c: c.complete(ASK, "test/echo"))
        assert isinstance(error, AIMissingKeyError) and error.code == "MISSING_API_KEY"
        assert isinstance(error, ServiceUnavailableError)
        assert client.attempts == 0
        error, _ = _fails(_config(base, api_key=key), lambda c: c.models())
        assert error.code == "MISSING_API_KEY"
    assert len(stand_in.requests) == before


@pytest.mark.parametrize(
    ("messages", "model", "options", "words"),
    [
        ([], "test/echo", {}, "messages"),
        ("hi", "test/echo", {}, "messages"),
        ([{"content": "x"}], "test/echo", {}, "role"),
        ([{"role": "user", "content": 3}], "test/echo", {}, "content"),
        (ASK, "", {}, "model"),
        (ASK, "test/echo", {"stream": True}, "cannot be set"),
        (ASK, "test/echo", {"temperature": float("nan")}, "JSON"),
    ],
)
def test_bad_arguments_are_invalid_request_without_a_call(
    server: tuple[OpenRouterStandIn, str], messages: Any, model: Any, options: Any, words: str
) -> None:
    _, base = server
    error, client = _fails(_config(base), lambda c: c.complete(messages, model, **options))
    assert error.code == "INVALID_REQUEST" and words in error.message
    assert client.attempts == 0


# -- completions ------------------------------------------------------------------------------


def test_a_completion_sends_bearer_and_attribution_headers(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    stand_in, base = server
    answer, client = _run(
        _config(base), lambda c: c.complete(ASK, "test/echo", temperature=0.2, max_tokens=50)
    )
    assert answer.text == "echo: hi"
    assert (answer.model, answer.finish_reason, answer.id) == ("test/echo", "stop", "gen-1")
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (7, 3)
    assert answer.usage.total_tokens == 10
    assert answer.raw["choices"][0]["message"]["content"] == "echo: hi"
    seen = stand_in.requests[-1]
    assert seen["headers"]["Authorization"] == f"Bearer {KEY}"
    assert seen["headers"]["Http-Referer"] == "https://example.test/app"
    assert seen["headers"]["X-Title"] == "Workscript Tests"
    assert seen["body"]["temperature"] == 0.2 and seen["body"]["max_tokens"] == 50
    assert "stream" not in seen["body"]
    assert client.attempts == 1


def test_without_site_settings_no_attribution_headers(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    stand_in, base = server
    _run(_config(base, site_url=None, site_name=None), lambda c: c.complete(ASK, "test/echo"))
    headers = stand_in.requests[-1]["headers"]
    assert "Http-Referer" not in headers and "X-Title" not in headers


def test_a_json_answer(server: tuple[OpenRouterStandIn, str]) -> None:
    _, base = server
    answer, _ = _run(
        _config(base),
        lambda c: c.complete(ASK, "test/json", response_format={"type": "json_object"}),
    )
    assert json.loads(answer.text) == {"answer": 42}


def test_one_shared_http_client_across_calls(server: tuple[OpenRouterStandIn, str]) -> None:
    _, base = server

    async def calls(client: OpenRouterClient) -> bool:
        await client.complete(ASK, "test/echo")
        first = client._client
        await client.models()
        await client.complete(ASK, "test/echo")
        return first is client._client and first is not None

    same, client = _run(_config(base), calls)
    assert same and client._client is None  # aclose() dropped it


def test_models_lists_the_data_array(server: tuple[OpenRouterStandIn, str]) -> None:
    stand_in, base = server
    models, _ = _run(_config(base), lambda c: c.models())
    assert [m["id"] for m in models] == [m["id"] for m in MODELS]
    gpt = models[0]
    assert gpt["id"] == "openai/gpt-4o" and gpt["context_length"] == 128000
    assert float(gpt["pricing"]["prompt"]) > 0 and isinstance(gpt["pricing"]["completion"], str)
    assert "text" in gpt["architecture"]["input_modalities"]
    assert gpt["top_provider"]["max_completion_tokens"] > 0
    assert stand_in.requests[-1]["headers"]["Authorization"] == f"Bearer {KEY}"


# -- streaming --------------------------------------------------------------------------------


def test_streaming_yields_pieces_skips_comments_and_keeps_usage(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    stand_in, base = server

    async def consume(client: OpenRouterClient) -> tuple[list[str], Any]:
        stream = client.stream(ASK, "test/echo")
        pieces = [piece async for piece in stream]
        return pieces, stream

    (pieces, stream), _ = _run(_config(base), consume)
    assert pieces == ["Hello", ", ", "world"]
    assert stream.text == "Hello, world" and stream.finish_reason == "stop"
    assert stream.usage.total_tokens == 8 and stream.model == "test/echo"
    assert stand_in.requests[-1]["body"]["stream"] is True


def test_an_error_event_mid_stream_raises_provider_error(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    _, base = server

    async def consume(client: OpenRouterClient) -> None:
        async for _ in client.stream(ASK, "test/stream-error"):
            pass

    error, _ = _fails(_config(base), consume)
    assert error.code == "PROVIDER_ERROR" and "provider died" in error.message


def test_a_stream_retries_a_429_before_the_first_piece(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    stand_in, base = server
    stand_in.counts.pop("test/rate-limited-once", None)

    async def consume(client: OpenRouterClient) -> str:
        stream = client.stream(ASK, "test/rate-limited-once")
        return "".join([p async for p in stream])

    text, client = _run(_config(base), consume)
    assert text == "Hello, world" and client.attempts == 2


# -- retries and errors -----------------------------------------------------------------------


def test_a_429_is_retried_after_retry_after(server: tuple[OpenRouterStandIn, str]) -> None:
    stand_in, base = server
    stand_in.counts.pop("test/rate-limited-once", None)
    started = time.monotonic()
    answer, client = _run(_config(base), lambda c: c.complete(ASK, "test/rate-limited-once"))
    waited = time.monotonic() - started
    assert answer.text == "echo: hi"
    assert client.attempts == 2 and stand_in.counts["test/rate-limited-once"] == 2
    assert waited >= 0.2  # Retry-After: 0.2, not the 0.01 s backoff


def test_429_for_ever_gives_rate_limited_with_retry_after(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    stand_in, base = server
    stand_in.counts.pop("test/rate-limited-forever", None)
    error, client = _fails(
        _config(base, max_retries=2), lambda c: c.complete(ASK, "test/rate-limited-forever")
    )
    assert error.code == "RATE_LIMITED" and isinstance(error, TooManyRequestsError)
    assert error.details["retryAfter"] == 0.05 and error.retry_after == 0.05
    assert client.attempts == 3 and stand_in.counts["test/rate-limited-forever"] == 3


def test_a_500_then_success_is_retried(server: tuple[OpenRouterStandIn, str]) -> None:
    stand_in, base = server
    stand_in.counts.pop("test/fails-once", None)
    answer, client = _run(_config(base), lambda c: c.complete(ASK, "test/fails-once"))
    assert answer.text == "echo: hi" and client.attempts == 2


def test_5xx_for_ever_is_a_provider_error_after_max_retries(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    stand_in, base = server
    stand_in.counts.pop("test/fails-forever", None)
    error, client = _fails(_config(base), lambda c: c.complete(ASK, "test/fails-forever"))
    assert error.code == "PROVIDER_ERROR" and error.details["status"] == 502
    assert client.attempts == 4 and stand_in.counts["test/fails-forever"] == 4


def test_a_wrong_key_is_auth_failed_not_retried_and_never_shown(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    stand_in, base = server
    wrong = "sk-or-v1-0123456789abcdef-WRONG"
    before = len(stand_in.requests)
    error, client = _fails(_config(base, api_key=wrong), lambda c: c.complete(ASK, "test/echo"))
    assert error.code == "AUTH_FAILED" and client.attempts == 1
    assert len(stand_in.requests) == before + 1
    for text in (str(error), error.message, json.dumps(error.details)):
        assert wrong not in text
    assert "[redacted]" in error.message  # the stand-in echoed it; the client scrubbed it


@pytest.mark.parametrize(
    ("model", "code"),
    [
        ("nobody/no-such-model", "MODEL_NOT_FOUND"),
        ("bad/not-valid", "MODEL_NOT_FOUND"),
        ("test/bad-request", "INVALID_REQUEST"),
    ],
)
def test_4xx_map_to_codes_without_retries(
    server: tuple[OpenRouterStandIn, str], model: str, code: str
) -> None:
    _, base = server
    error, client = _fails(_config(base), lambda c: c.complete(ASK, model))
    assert error.code == code and client.attempts == 1
    if code == "INVALID_REQUEST":
        assert "temperature must be <= 2" in error.message


def test_a_slow_answer_past_the_timeout_is_timeout(server: tuple[OpenRouterStandIn, str]) -> None:
    _, base = server
    error, client = _fails(_config(base, timeout=0.3), lambda c: c.complete(ASK, "test/slow"))
    assert error.code == "TIMEOUT" and isinstance(error, TimeoutError)
    assert client.attempts == 1


def test_an_unreachable_provider_is_retried_then_provider_error() -> None:
    sock = __import__("socket").socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    error, client = _fails(
        _config(f"http://127.0.0.1:{port}/v1", max_retries=2),
        lambda c: c.complete(ASK, "test/echo"),
    )
    assert error.code == "PROVIDER_ERROR" and client.attempts == 3


def test_a_body_over_the_bound_is_refused(server: tuple[OpenRouterStandIn, str]) -> None:
    _, base = server

    async def call(client: OpenRouterClient) -> Any:
        client.max_response_bytes = 100_000
        return await client.complete(ASK, "test/huge")

    error, _ = _fails(_config(base), call)
    assert error.code == "PROVIDER_ERROR" and "100000 byte limit" in error.message


def test_each_code_answers_with_its_http_status() -> None:
    from workscript_jupyter import errors
    from workscript_jupyter.server.base import status_for

    expected = {
        errors.AIMissingKeyError("m"): ("MISSING_API_KEY", 503),
        errors.AIAuthError("m"): ("AUTH_FAILED", 503),
        errors.AIModelNotFoundError("m"): ("MODEL_NOT_FOUND", 400),
        errors.AIInvalidRequestError("m"): ("INVALID_REQUEST", 400),
        errors.AIRateLimitedError("m", retry_after=1.0): ("RATE_LIMITED", 429),
        errors.AITimeoutError("m"): ("TIMEOUT", 503),
        errors.AIProviderError("m"): ("PROVIDER_ERROR", 503),
    }
    for error, (code, status) in expected.items():
        assert isinstance(error, AIError)
        assert (error.code, status_for(error), type(error).http_status) == (code, status, status)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_chunked_body_over_the_bound_is_refused_while_read(
    server: tuple[OpenRouterStandIn, str], streamed: bool
) -> None:
    _, base = server

    async def call(client: OpenRouterClient) -> Any:
        client.max_response_bytes = 100_000
        if not streamed:
            return await client.complete(ASK, "test/huge-stream")
        return [piece async for piece in client.stream(ASK, "test/huge-stream")]

    error, _ = _fails(_config(base), call)
    assert error.code == "PROVIDER_ERROR" and "100000 byte limit" in error.message


def test_a_provider_dripping_bytes_is_cut_at_the_timeout(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    _, base = server
    error, client = _fails(_config(base, timeout=0.4), lambda c: c.complete(ASK, "test/drip"))
    assert error.code == "TIMEOUT" and client.attempts == 1


def test_a_redirect_is_not_followed(server: tuple[OpenRouterStandIn, str]) -> None:
    _, base = server
    error, client = _fails(_config(base), lambda c: c.complete(ASK, "test/redirect"))
    assert error.code == "PROVIDER_ERROR" and "307" in error.message and client.attempts == 1


def test_a_stream_closed_early_releases_its_connection(
    server: tuple[OpenRouterStandIn, str],
) -> None:
    _, base = server

    async def first_piece(client: OpenRouterClient) -> tuple[str, Any, str]:
        async with client.stream(ASK, "test/echo") as stream:
            pieces = aiter(stream)
            piece = await anext(pieces)
        after = await anext(pieces, None)  # closed: nothing more, though the answer had more
        again = await client.complete(ASK, "test/echo")  # the shared client still works
        return piece, after, again.text

    (piece, after, text), _ = _run(_config(base), first_piece)
    assert (piece, after, text) == ("Hello", None, "echo: hi")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0.2", 0.2),
        ("3600", 60.0),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("-1", None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_is_read_and_capped(header: str, expected: float | None) -> None:
    from workscript_jupyter.integrations.openrouter_retry import _retry_after

    response = httpx.Response(429, headers={"Retry-After": header} if header else {})
    assert _retry_after(response) == expected


def test_retry_after_as_a_future_http_date() -> None:
    from email.utils import format_datetime

    from workscript_jupyter.integrations.openrouter_retry import _retry_after

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    wait = _retry_after(httpx.Response(429, headers={"Retry-After": later}))
    assert wait is not None and 25 <= wait <= 30
