"""pytest fixtures for the Google stand-ins. A test module imports the ones it needs:

    from tests.standins.google_fixtures import (  # noqa: F401  (the fixtures)
        google_apis_fixture,
        google_oauth_fixture,
    )

and asks for ``google_oauth`` / ``google_apis``: the API stand-in accepts the bearer tokens the
OAuth stand-in issued, with their scopes. Both are module-scoped; a test that changes their data
or switches cleans up after itself (or uses its own stand-ins)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .google_apis import GoogleApisStandIn
from .google_oauth import GoogleOAuthStandIn

__all__ = ["google_apis_fixture", "google_oauth_fixture"]


@pytest.fixture(scope="module", name="google_oauth")
def google_oauth_fixture() -> Iterator[GoogleOAuthStandIn]:
    """Google's OAuth server on 127.0.0.1 (tests/standins/google_oauth.py)."""
    with GoogleOAuthStandIn() as stand_in:
        yield stand_in


@pytest.fixture(scope="module", name="google_apis")
def google_apis_fixture(google_oauth: GoogleOAuthStandIn) -> Iterator[GoogleApisStandIn]:
    """Gmail, Calendar and Drive on 127.0.0.1, trusting ``google_oauth``'s tokens."""
    with GoogleApisStandIn(scopes_of=google_oauth.scopes_of) as stand_in:
        yield stand_in
