"""pytest fixtures for the stand-ins. A test module imports the fixture it needs:

    from tests.standins.fixtures import openrouter_fixture  # noqa: F401  (the fixture)

and asks for ``openrouter`` in its tests.

(conftest.py is shared by every module: the stand-ins stay out of it.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .openrouter import OpenRouterStandIn

__all__ = ["openrouter_fixture"]


@pytest.fixture(scope="module", name="openrouter")
def openrouter_fixture() -> Iterator[OpenRouterStandIn]:
    """An OpenRouter stand-in on 127.0.0.1 for the module (``reset()`` clears its counters)."""
    with OpenRouterStandIn() as stand_in:
        yield stand_in
