"""What the Gmail nodes share: their scopes, the Gmail ids and label lists of their parameters
(each refusal a message naming the parameter), the call to Gmail v1 and the edge of a failure,
with ``config_error`` for the nodes that have it (the original workscript's name for a bad or
missing parameter)."""

from __future__ import annotations

from typing import Any, Final

from ..engine import Edge, FallbackEdge
from ..errors import GoogleError
from .google_common import failure_edge
from .google_params import checked_id, listed, required_id
from .google_requests import GOOGLE_SCOPES

__all__ = [
    "MODIFY_SCOPES",
    "PROFILE_SCOPES",
    "READ_SCOPES",
    "SEND_SCOPES",
    "gmail_failure",
    "gmail_id",
    "label_ids",
    "message_id",
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
MAX_ID: Final = 256  # Gmail's ids: "18c2f1a9e0b3d4c5", "Label_12", "INBOX"


def gmail_failure(error: GoogleError, *, config_error: bool = False) -> Edge:
    """The failure's edge; a refused parameter takes ``config_error`` where the node has it
    (a FallbackEdge: ``error`` for a step without it)."""
    if config_error and error.code == "INVALID_PARAMETER":
        return FallbackEdge("config_error", error.edge_data())
    return failure_edge(error)


def gmail_id(value: Any, name: str) -> str:
    return checked_id(value, name, "Gmail", MAX_ID)


def message_id(params: dict[str, Any]) -> str:
    return required_id(params, "messageId", "Gmail", MAX_ID, "the Gmail message's id")


def label_ids(params: dict[str, Any], name: str) -> list[str]:
    """A list of label ids, or one string of them separated by commas."""
    found: list[str] = []
    for item in listed(params, name, "label ids", MAX_LABELS):
        label = gmail_id(item.strip() if isinstance(item, str) else item, name)
        if label not in found:
            found.append(label)
    return found
