"""The limits of one run and of one workflow document: ``EngineLimits``.

- ``max_state_bytes``: how large a run's state may grow (estimated as its JSON size, see
  ``state_size.py``); a run past it fails with ``STATE_TOO_LARGE``. The server's trait and the
  CLI's flag give it in MB (``max_state_mb``, default 64).
- ``max_steps``: how many steps a workflow may have, nested steps included; a document with more
  is invalid (``TOO_MANY_STEPS``) before any other check. Default 10,000.

The defaults hold wherever no limits are given (the ``%%workflow`` magic, tests, a plain
``run_workflow``), so every run is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..errors import ConfigurationError

__all__ = ["DEFAULT_LIMITS", "MB", "EngineLimits", "format_mb"]

MB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class EngineLimits:
    max_state_bytes: int = 64 * MB
    max_steps: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_state_bytes", "max_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(
                    f"EngineLimits.{name} must be an integer >= 1, not {value!r}"
                )

    @classmethod
    def of(cls, *, max_state_mb: float = 64.0, max_steps: int = 10_000) -> EngineLimits:
        """The limits from the settings' units (``max_state_mb`` may be a fraction: 0.5)."""
        if isinstance(max_state_mb, bool) or not isinstance(max_state_mb, (int, float)):
            raise ConfigurationError(f"max_state_mb must be a number, not {max_state_mb!r}")
        if not max_state_mb > 0:
            raise ConfigurationError(f"max_state_mb must be greater than 0, not {max_state_mb!r}")
        return cls(max_state_bytes=max(1, int(max_state_mb * MB)), max_steps=max_steps)

    @property
    def max_state_mb(self) -> float:
        return self.max_state_bytes / MB


def format_mb(size: int) -> str:
    """``67108864`` → ``"64 MB"``; small limits keep their digits (``"0.001 MB"``)."""
    return f"{size / MB:.4g} MB"


DEFAULT_LIMITS: Final = EngineLimits()
