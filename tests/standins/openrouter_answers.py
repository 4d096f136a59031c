"""What the OpenRouter stand-in answers: its model list (OpenRouter's real shape) and the text
of an answer for a request (echo, JSON for ``response_format``, an instance of a given JSON
schema, or deliberately broken JSON for the models that test the failures)."""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "JSON_INVALID_MODEL",
    "JSON_MISMATCH_MODEL",
    "MODELS",
    "answer_text",
    "completion",
    "instance_of",
    "pieces_of",
]

JSON_INVALID_MODEL = "test/json-invalid"  # answers text that is not JSON at all
JSON_MISMATCH_MODEL = "test/json-mismatch"  # answers JSON whose first property has a wrong type


def _model(
    ident: str,
    name: str,
    context: int,
    prompt: str,
    completion: str,
    *,
    inputs: tuple[str, ...] = ("text",),
    max_completion: int | None = 16_384,
) -> dict[str, Any]:
    return {
        "id": ident,
        "name": name,
        "created": 1_715_367_049,
        "description": f"{name}: a model of the OpenRouter stand-in.",
        "context_length": context,
        "architecture": {
            "modality": "+".join(inputs) + "->text",
            "input_modalities": list(inputs),
            "output_modalities": ["text"],
            "tokenizer": "Other",
        },
        "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0"},
        "top_provider": {
            "context_length": context,
            "max_completion_tokens": max_completion,
            "is_moderated": False,
        },
        "supported_parameters": ["max_tokens", "temperature", "response_format"],
    }


MODELS: list[dict[str, Any]] = [
    _model(
        "openai/gpt-4o",
        "OpenAI: GPT-4o",
        128_000,
        "0.0000025",
        "0.00001",
        inputs=("text", "image", "file"),
    ),
    _model(
        "anthropic/claude-3.5-sonnet",
        "Anthropic: Claude 3.5 Sonnet",
        200_000,
        "0.000003",
        "0.000015",
        inputs=("text", "image"),
        max_completion=8_192,
    ),
    _model(
        "meta-llama/llama-3.1-8b-instruct",
        "Meta: Llama 3.1 8B Instruct",
        131_072,
        "0.00000002",
        "0.00000005",
        max_completion=None,
    ),
    _model("test/echo", "Stand-in: Echo", 8_192, "0", "0"),
]


def completion(text: str, model: str) -> dict[str, Any]:
    """A whole (non-streamed) chat completion carrying ``text``."""
    return {
        "id": "gen-1",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


def answer_text(model: str, body: dict[str, Any]) -> str | None:
    """The text answered to ``body``; None for a plain streamed request (the stream then sends
    its fixed "Hello, world")."""
    form = body.get("response_format")
    kind = form.get("type") if isinstance(form, dict) else None
    if model == JSON_INVALID_MODEL and kind:
        return '{"answer": 42, "unfinished'
    if kind == "json_schema":
        schema = (form.get("json_schema") or {}).get("schema") or {}  # type: ignore[union-attr]
        value = instance_of(schema)
        if model == JSON_MISMATCH_MODEL:
            value = _spoiled(value)
        return json.dumps(value)
    if kind == "json_object":
        return json.dumps(
            {"answer": "forty-two"} if model == JSON_MISMATCH_MODEL else {"answer": 42}
        )
    if body.get("stream"):
        return None
    last = body["messages"][-1]["content"]
    return f"echo: {last}"


def pieces_of(text: str, count: int) -> list[str]:
    """``text`` cut into ``count`` pieces (fewer for a short text), in order."""
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def instance_of(schema: Any) -> Any:
    """A small value that satisfies a simple JSON schema (type, enum, const, properties,
    required, items, minItems, minimum, minLength): what a well-behaved model would return."""
    if not isinstance(schema, dict):
        return {}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else None)
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: instance_of(sub) for name, sub in properties.items()}
    if kind == "array":
        return [
            instance_of(schema.get("items") or {}) for _ in range(max(1, schema.get("minItems", 1)))
        ]
    if kind == "string":
        return "x" * max(5, int(schema.get("minLength", 0)))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {}


def _spoiled(value: Any) -> Any:
    """``value`` with its first property (or item) of the wrong type, so a validator finds a
    violation below the root."""
    if isinstance(value, dict) and value:
        first = next(iter(value))
        return {**value, first: _wrong(value[first])}
    if isinstance(value, list) and value:
        return [_wrong(value[0]), *value[1:]]
    return _wrong(value)


def _wrong(value: Any) -> Any:
    return [] if isinstance(value, (str, int, float, bool)) or value is None else "wrong type"
