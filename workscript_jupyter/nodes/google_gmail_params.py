"""What the Gmail nodes share: their scopes, the reading of their parameters (each refusal a
message naming the parameter) and the edge of a failure, with ``config_error`` for the nodes
that have it (the original workscript's name for a bad or missing parameter)."""

from __future__ import annotations

import re
from typing import Any, Final

from ..engine import Edge, FallbackEdge
from ..errors import GoogleError
from ..integrations.google_oauth import GOOGLE_SCOPES
from .google_common import bad_parameter, failure_edge

__all__ = [
    "MODIFY_SCOPES",
    "PROFILE_SCOPES",
    "READ_SCOPES",
    "SEND_SCOPES",
    "flag",
    "gmail_failure",
    "gmail_id",
    "label_ids",
    "message_id",
    "optional_string",
    "whole_number",
]

READ_SCOPES: Final = (GOOGLE_SCOPES["gmail.readonly"], GOOGLE_SCOPES["gmail.modify"])
PROFILE_SCOPES: Final = (*READ_SCOPES, GOOGLE_SCOPES["gmail.compose"])
SEND_SCOPES: Final = (
    GOOGLE_SCOPES["gmail.send"],
    GOOGLE_SCOPES["gmail.compose"],
    GOOGLE_SCOPES["gmail.modify"],
)
MODIFY_SCOPES: Final = (GOOGLE_SCOPES["gmail.modify"],)
MAX_LABELS: Final = 100
# Gmail's ids (messages, threads, labels: "18c2f1a9e0b3d4c5", "Label_12", "INBOX") are short
# and URL-safe; anything else is a mistake (an RFC 822 Message-ID, a whole object...)
_ID: Final = re.compile(r"[A-Za-z0-9_\-]{1,256}")


def gmail_failure(error: GoogleError, *, config_error: bool = False) -> Edge:
    """The failure's edge; a refused parameter takes ``config_error`` where the node has it
    (a FallbackEdge: ``error`` for a step without it)."""
    if config_error and error.code == "INVALID_PARAMETER":
        return FallbackEdge("config_error", error.edge_data())
    return failure_edge(error)


def flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_parameter(f'Parameter "{name}" must be true or false, not {value!r}'[:200])
    return value


def whole_number(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_parameter(f'Parameter "{name}" must be a whole number from {low} to {high}')
    return value


def optional_string(params: dict[str, Any], name: str, limit: int) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_parameter(f'Parameter "{name}" must be a string')
    if len(value) > limit:
        raise bad_parameter(f'Parameter "{name}" is longer than {limit} characters')
    return value


def gmail_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        shown = repr(value)[:80]
        raise bad_parameter(
            f'Parameter "{name}" must be a Gmail id (letters, digits, _ and -), not {shown}'
        )
    return value


def message_id(params: dict[str, Any]) -> str:
    value = params.get("messageId")
    if value is None or value == "":
        raise bad_parameter("Missing required parameter: messageId (the Gmail message's id)")
    return gmail_id(value, "messageId")


def label_ids(params: dict[str, Any], name: str) -> list[str]:
    """A list of label ids, or one string of them separated by commas."""
    value = params.get(name)
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise bad_parameter(f'Parameter "{name}" must be a list of label ids')
    if len(items) > MAX_LABELS:
        raise bad_parameter(f'Parameter "{name}" has more than {MAX_LABELS} labels')
    found: list[str] = []
    for item in items:
        label = gmail_id(item.strip() if isinstance(item, str) else item, name)
        if label not in found:
            found.append(label)
    return found
