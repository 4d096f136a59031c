"""ask-ai: ask a chat model through ``ctx.services.ai`` (an ``AIGateway``).

The node holds no credential and reads none from the state (the original took a JWT from it):
on the server the gateway bills the run's owner and records the usage (service/ai.py); in a
kernel or the ``workscript`` command it is the OpenRouter client itself, present when
``OPENROUTER_API_KEY`` is set. Without a gateway the node takes its error edge saying so.

As the original: ``aiResponse`` holds the answer's text and ``aiResponseData`` its details
(``id``, ``model``, ``content``, ``finishReason``, ``usage`` with ``cost``, ``durationMs``);
the values they held before are archived under ``PastAIResponses`` / ``PastAIResponsesData``,
keyed by the ISO time of the new answer. The success edge carries ``{content, usage, model}``,
the error edge ``{error, code}``.

New here: parameters are checked before anything is sent (``temperature``, ``maxTokens``,
earlier ``messages``); when somebody watches the run the answer is streamed and each growth
of the text is a ``node:progress`` event (the text's tail, ``TEXT_IN_EVENT`` characters at
most, and its length); ``responseFormat: "json"`` (implied by a ``jsonSchema``) asks for JSON
and puts the parsed value in ``aiResponseData.json`` and the edge's ``json``, after checking
it against ``jsonSchema`` when one is given (``ai_json.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..errors import WorkscriptError
from .ai_json import JSON_INSTRUCTION, AnswerProblem, check_schema, parse_answer, response_format
from .common import error_edge, now_iso

__all__ = ["DEFAULT_SYSTEM_PROMPT", "NODES", "AskAINode"]

DEFAULT_SYSTEM_PROMPT: Final = (
    "You are an assistant that is one step of an automated workflow. Answer the request "
    "directly and accurately, in a form that is easy to process further; keep it short "
    "unless asked for detail. When something is uncertain or ambiguous, say what you assumed."
)
MAX_PROMPT_CHARS: Final = 1_000_000
MAX_MODEL_CHARS: Final = 200
MAX_MESSAGES: Final = 200
MAX_TOKENS: Final = 200_000
TEXT_IN_EVENT: Final = 4_000
FORMATS: Final = ("text", "json")
ROLES: Final = ("system", "user", "assistant")
_NO_GATEWAY: Final = (
    "no AI service here: set OPENROUTER_API_KEY in the environment of the kernel or of the "
    "workscript command, or run the workflow on the Workscript server"
)


class _BadParameter(Exception):
    def __init__(self, message: str, code: str = "INVALID_PARAMETER") -> None:
        super().__init__(message)
        self.message, self.code = message, code


class AskAINode(Node):
    metadata = NodeMetadata(
        id="ask-ai",
        name="Ask AI",
        description=(
            "Sends a prompt to a chat model (OpenRouter model ids such as openai/gpt-4o) and "
            "stores the answer in aiResponse, its details in aiResponseData (earlier ones "
            "archived in PastAIResponses / PastAIResponsesData by time). On the server the "
            "call is billed to the run's owner; in a kernel or the command line it needs "
            "OPENROUTER_API_KEY. A watched run streams the text as it arrives. "
            "responseFormat json (or a jsonSchema) asks for JSON, parses it into "
            "aiResponseData.json and checks it against the schema: INVALID_JSON or "
            "SCHEMA_MISMATCH (with the path of the first violation) take the error edge."
        ),
        category="ai",
        inputs=(
            ParamSpec("userPrompt", "string", "what to ask", True),
            ParamSpec("model", "string", "the model id, e.g. openai/gpt-4o", True),
            ParamSpec(
                "systemPrompt", "string", "the model's instructions (default: a short general one)"
            ),
            ParamSpec(
                "messages",
                "object[]",
                f"earlier turns [{{role, content}}], sent before userPrompt (<= {MAX_MESSAGES})",
            ),
            ParamSpec("temperature", "number", "randomness, 0 to 2"),
            ParamSpec("maxTokens", "integer", f"longest answer in tokens, 1 to {MAX_TOKENS}"),
            ParamSpec(
                "responseFormat",
                "string",
                "how to read the answer",
                default="text",
                choices=FORMATS,
            ),
            ParamSpec("jsonSchema", "object", "a JSON Schema the answer must match (implies json)"),
            ParamSpec("stream", "boolean", "stream the text to whoever watches", default=True),
        ),
        outputs=("aiResponse", "aiResponseData", "PastAIResponses", "PastAIResponsesData"),
        edges=("success", "error"),
        example={
            "userPrompt": "Summarize in one sentence: {{$.article}}",
            "model": "openai/gpt-4o-mini",
            "temperature": 0.2,
            "maxTokens": 200,
            "success?": {"log": {"message": "{{$.aiResponse}}"}},
            "error?": {"log": {"message": "AI failed: {{$._edgeContext.error}}"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            request = _Request.read(params)
            if request.schema is not None:
                await check_schema(ctx, request.schema)
        except _BadParameter as bad:
            return error_edge(bad.message, code=bad.code)
        except AnswerProblem as problem:
            return error_edge(problem.message, code=problem.code)
        gateway = getattr(ctx.services, "ai", None)
        if gateway is None:
            return error_edge(_NO_GATEWAY, code="MISSING_API_KEY")
        on_text = _progress(ctx) if request.stream and ctx.on_event is not None else None
        try:
            answer = await gateway.chat(
                model=request.model,
                messages=request.messages,
                options=request.options,
                execution_id=ctx.execution_id,
                workflow_id=ctx.workflow_id,
                node_path=ctx.node_path,
                on_text=on_text,
            )
        except WorkscriptError as failure:  # AIError and the server's refusals (budget...)
            return _failure_edge(failure)
        return await _answered(ctx, request, answer)


class _Request:
    """The checked parameters: what is sent, and how the answer is read."""

    __slots__ = ("json", "messages", "model", "options", "schema", "stream")

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.options: dict[str, Any] = {}
        self.model = ""
        self.json = False
        self.schema: Mapping[str, Any] | None = None
        self.stream = True

    @classmethod
    def read(cls, params: Mapping[str, Any]) -> _Request:
        request = cls()
        prompt = _text(params, "userPrompt", "MISSING_USER_PROMPT")
        request.model = _model(params)
        system = params.get("systemPrompt")
        if system is not None and not isinstance(system, str):
            raise _BadParameter(f"systemPrompt must be text, got {_kind(system)}")
        system = system or DEFAULT_SYSTEM_PROMPT  # as the original: empty means the default
        _check_length("systemPrompt", system)
        request.json, request.schema = _format(params)
        if request.json:
            system = f"{system}\n\n{JSON_INSTRUCTION}"
            request.options["response_format"] = response_format(request.schema)
        request.messages = [
            {"role": "system", "content": system},
            *_earlier(params.get("messages")),
            {"role": "user", "content": prompt},
        ]
        request.options.update(_sampling(params))
        stream = params.get("stream", True)
        if not isinstance(stream, bool):
            raise _BadParameter(f"stream must be true or false, got {_kind(stream)}")
        request.stream = stream
        return request


def _text(params: Mapping[str, Any], name: str, missing: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise _BadParameter(f"Missing required parameter: {name}", missing)
    if not isinstance(value, str):
        raise _BadParameter(f"{name} must be text, got {_kind(value)}")
    if not value.strip():
        raise _BadParameter(f"{name} is only whitespace", missing)
    _check_length(name, value)
    return value


def _check_length(name: str, value: str) -> None:
    if len(value) > MAX_PROMPT_CHARS:
        raise _BadParameter(
            f"{name} is {len(value)} characters long; at most {MAX_PROMPT_CHARS} are sent"
        )


def _model(params: Mapping[str, Any]) -> str:
    model = _text(params, "model", "MISSING_MODEL").strip()
    if len(model) > MAX_MODEL_CHARS or any(c.isspace() or not c.isprintable() for c in model):
        raise _BadParameter(
            f"model must be a model id such as openai/gpt-4o (no spaces, at most "
            f"{MAX_MODEL_CHARS} characters), got {model[:60]!r}"
        )
    return model


def _format(params: Mapping[str, Any]) -> tuple[bool, Mapping[str, Any] | None]:
    schema = params.get("jsonSchema")
    chosen = params.get("responseFormat")
    if chosen is None:
        chosen = "json" if schema is not None else "text"
    if chosen not in FORMATS:
        raise _BadParameter(f"responseFormat must be one of {', '.join(FORMATS)}, got {chosen!r}")
    if schema is not None and chosen != "json":
        raise _BadParameter('jsonSchema needs responseFormat "json" (or no responseFormat)')
    if schema is not None and not isinstance(schema, Mapping):
        raise _BadParameter(
            f"jsonSchema must be a JSON Schema object, got {_kind(schema)}", "INVALID_SCHEMA"
        )
    return chosen == "json", schema  # the schema itself: check_schema, before any call


def _earlier(messages: Any) -> list[dict[str, Any]]:
    if messages is None:
        return []
    if not isinstance(messages, list):
        raise _BadParameter(
            f"messages must be an array of {{role, content}}, got {_kind(messages)}"
        )
    if len(messages) > MAX_MESSAGES:
        raise _BadParameter(f"messages has {len(messages)} items; at most {MAX_MESSAGES}")
    out = []
    total = 0
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, Mapping) else None
        content = message.get("content") if isinstance(message, Mapping) else None
        if role not in ROLES or not isinstance(content, str):
            raise _BadParameter(
                f"messages[{index}] must be {{role: {' | '.join(ROLES)}, content: text}}, "
                f"got {_kind(message)}"
            )
        total += len(content)
        if total > MAX_PROMPT_CHARS:
            raise _BadParameter(f"messages hold more than {MAX_PROMPT_CHARS} characters")
        out.append({"role": role, "content": content})
    return out


def _sampling(params: Mapping[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    temperature = params.get("temperature")
    if temperature is not None:
        if not _number(temperature) or not 0 <= temperature <= 2:
            raise _BadParameter(f"temperature must be a number from 0 to 2, got {temperature!r}")
        options["temperature"] = temperature
    tokens = params.get("maxTokens")
    if tokens is not None:
        whole = _number(tokens) and float(tokens).is_integer()
        if not whole or not 1 <= tokens <= MAX_TOKENS:
            raise _BadParameter(
                f"maxTokens must be a whole number from 1 to {MAX_TOKENS}, got {tokens!r}"
            )
        options["max_tokens"] = int(tokens)
    return options


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


# -- the answer --------------------------------------------------------------------------------


def _progress(ctx: NodeContext) -> Any:
    """``on_text`` for the gateway: each growth of the text is a node:progress event with its
    tail (at most ``TEXT_IN_EVENT`` characters) and its whole length."""

    def on_text(text: str) -> None:
        size = len(text)
        shown = text[-TEXT_IN_EVENT:]
        ctx.progress(size, None, unit="chars", chars=size, text=shown, truncated=size > len(shown))

    return on_text


def _failure_edge(failure: WorkscriptError) -> Edge:
    extra: dict[str, Any] = {}
    retry_after = getattr(failure, "retry_after", None)
    if retry_after is not None:
        extra["retryAfter"] = retry_after
    return error_edge(failure.message or str(failure), code=failure.code, **extra)


async def _answered(ctx: NodeContext, request: _Request, answer: Mapping[str, Any]) -> Edge:
    content = answer.get("content")
    content = content if isinstance(content, str) else ""
    usage = dict(answer.get("usage") or {})
    usage["cost"] = answer.get("cost")
    model = answer.get("model") or request.model
    parsed: Any = None
    if request.json:
        try:
            parsed = await parse_answer(ctx, content, request.schema)
        except AnswerProblem as problem:
            return error_edge(
                problem.message,
                code=problem.code,
                content=content,
                model=model,
                usage=usage,
                **problem.extra,
            )
    data: dict[str, Any] = {
        "id": answer.get("id"),
        "model": model,
        "content": content,
        "finishReason": answer.get("finishReason"),
        "usage": usage,
        "durationMs": answer.get("durationMs"),
    }
    if request.json:
        data["json"] = parsed
    _archive(ctx.state)
    ctx.state["aiResponse"] = content
    ctx.state["aiResponseData"] = data
    edge: dict[str, Any] = {"content": content, "usage": usage, "model": model}
    if request.json:
        edge["json"] = parsed
    return Edge("success", edge)


def _archive(state: dict[str, Any]) -> None:
    """Keep the previous answer under the time of the new one (as the original). Each archive
    is written back whole, so the engine's state-size budget sees it grow."""
    stamp = now_iso()
    for current, past in (
        ("aiResponse", "PastAIResponses"),
        ("aiResponseData", "PastAIResponsesData"),
    ):
        if current not in state:
            continue
        archive = state.get(past)
        if not isinstance(archive, dict):  # absent, or overwritten by the workflow: start anew
            archive = {}
        key, n = stamp, 1
        while key in archive:  # two answers in one millisecond keep both
            n += 1
            key = f"{stamp}#{n}"
        archive[key] = state[current]
        state[past] = archive


NODES: tuple[type[Node], ...] = (AskAINode,)
