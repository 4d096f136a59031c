"""Every verb of every workscript route needs a login and the authorizer's yes.

Three views, each able to fail on its own: the decorators (a verb without ``@web.authenticated``
or without ``@authorized`` under it), the behaviour (every route and verb without credentials,
then with credentials but an authorizer that refuses every ``workscript:`` resource), and
Jupyter's own start-up check (a handler without auth is an error in this suite, ours are not).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import JupyterServerAuthWarning
from tornado import web

from workscript_jupyter.server.routes import routes

from .conftest import server_config

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# called by external systems: the URL's token is the secret; the accounts' public verbs check
# a password, a refresh token or a reset token themselves
OPEN = {
    ("WebhookHandler", "POST"),
    ("RegisterHandler", "POST"),
    ("LoginHandler", "POST"),
    ("RefreshHandler", "POST"),
    ("PasswordResetHandler", "POST"),
    ("FirstMessageSocketHandler", "GET"),  # its first message carries the key or JWT
    ("PasswordResetPageHandler", "GET"),  # a static form
    ("GoogleCallbackHandler", "GET"),  # the OAuth flow's single-use state authenticates it
}


def implemented(handler: type[web.RequestHandler]) -> list[str]:
    return [
        verb
        for verb in VERBS
        if getattr(handler, verb.lower()) is not web.RequestHandler._unimplemented_method
    ]


def decorators(method: Any) -> list[str]:
    """The qualified names of the wrappers around ``method``, outermost first."""
    names = []
    while method is not None:
        names.append(getattr(getattr(method, "__code__", None), "co_qualname", "?"))
        method = getattr(method, "__wrapped__", None)
    return names


SAMPLES = ("0" * 32, "x" * 24, "no-such-route", "request")  # ids and tokens that do not exist


def sample_path(pattern: str) -> str:
    """A concrete path the route ``pattern`` matches: each group gets the first sample it takes."""

    def sample(group: re.Match[str]) -> str:
        found = next((s for s in SAMPLES if re.fullmatch(group.group(1), s)), None)
        assert found is not None, f"no sample matches {group.group(0)} of {pattern}"
        return found

    path = re.sub(r"\(([^()]*)\)", sample, pattern).replace(r"\.", ".")
    assert re.fullmatch(pattern, path), (pattern, path)
    return path


def route_verbs() -> list[tuple[str, str, str]]:
    """(handler name, verb, path) for every implemented verb of every route."""
    return [
        (handler.__name__, verb, sample_path(pattern))
        for pattern, handler in routes()
        for verb in implemented(handler)
    ]


ROUTE_VERBS = route_verbs()
GUARDED = [rv for rv in ROUTE_VERBS if (rv[0], rv[1]) not in OPEN]


def test_each_verb_is_authenticated_then_authorized() -> None:
    """``@web.authenticated`` outside ``@authorized`` on every verb; a WebSocket is
    ``@ws_authenticated`` (it asks the authorizer in its body); OPTIONS is Jupyter's CORS."""
    problems = []
    for pattern, handler in routes():
        assert str(getattr(handler, "auth_resource", "")).startswith("workscript:"), handler
        for verb in implemented(handler):
            names = decorators(getattr(handler, verb.lower()))
            if (handler.__name__, verb) in OPEN:
                ok = names[0].startswith("allow_unauthenticated.")
                ok = ok and isinstance(getattr(handler, "auth_exempt", None), str)
            elif issubclass(handler, web.RequestHandler) and not issubclass(handler, APIHandler):
                ok = names[0].startswith("ws_authenticated.")
            else:
                ok = names[0].startswith("authenticated.") and names[1].startswith("authorized.")
            if not ok:
                problems.append(f"{verb} {pattern} ({handler.__name__}): {names}")
        options = getattr(handler, "options", None)
        if options is not None and options is not web.RequestHandler.options:
            assert options is APIHandler.options, f"{handler.__name__} overrides OPTIONS"
    assert problems == [], "verbs without the auth decorators:\n" + "\n".join(problems)


def test_the_route_table_is_covered() -> None:
    handlers = {name for name, _, _ in ROUTE_VERBS}
    assert {"WorkflowsHandler", "NotFoundHandler", "WebhookHandler"} <= handlers
    assert len(GUARDED) >= 35, len(GUARDED)


async def call(jp_fetch: Any, verb: str, path: str, **kwargs: Any) -> Any:
    return await jp_fetch(
        *path.strip("/").split("/"),
        method=verb,
        body="" if verb in ("POST", "PUT", "PATCH") else None,
        raise_error=False,
        allow_nonstandard_methods=True,
        follow_redirects=False,
        **kwargs,
    )


async def test_without_credentials_every_verb_is_refused(jp_fetch) -> None:
    """One server, every route and verb (a server per case would cost minutes)."""
    wrong = []
    for handler, verb, path in GUARDED:
        reply = await call(jp_fetch, verb, path, headers={"Authorization": ""})
        if reply.code not in (401, 403):
            wrong.append(f"{verb} {path} ({handler}): {reply.code} {reply.body[:120]!r}")
    assert wrong == [], "answered without credentials:\n" + "\n".join(wrong)


class RefuseWorkscript(Authorizer):
    """Allows Jupyter's own resources, refuses every ``workscript:`` one (and records it)."""

    asked: list[tuple[str, str]] = []

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if resource.startswith("workscript:"):
            RefuseWorkscript.asked.append((action, resource))
            return False
        return True


class TestAnAuthorizerThatSaysNo:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(workscript_db_url, server={"authorizer_class": RefuseWorkscript})

    async def test_every_verb_asks_it_and_is_refused(self, jp_fetch) -> None:
        wrong = []
        for handler, verb, path in GUARDED:  # with the server's token: logged in
            RefuseWorkscript.asked.clear()
            reply = await call(jp_fetch, verb, path)
            if reply.code != 403 or not RefuseWorkscript.asked:
                asked = RefuseWorkscript.asked or "never asked the authorizer"
                wrong.append(f"{verb} {path} ({handler}): {reply.code}, {asked}")
        assert wrong == [], "not refused by the authorizer:\n" + "\n".join(wrong)


class Undecorated(APIHandler):
    async def get(self) -> None:  # neither @web.authenticated nor @allow_unauthenticated
        self.finish("{}")


def test_a_handler_without_auth_stops_the_server_and_ours_pass(jp_serverapp) -> None:
    """The suite turns Jupyter's auth warning into an error (pyproject filterwarnings) with
    ``allow_unauthenticated_access=False`` (tests/server/conftest.py): an undecorated verb
    cannot be registered; every workscript route can."""
    web_app = jp_serverapp.web_app
    assert web_app.settings["allow_unauthenticated_access"] is False
    host = r"auth-check\.invalid$"  # a host no request uses: nothing real is served twice
    with pytest.raises(JupyterServerAuthWarning, match="GET of Undecorated"):
        web_app.add_handlers(host, [(r"/workscript-auth-check", Undecorated)])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        web_app.add_handlers(host, routes())
    assert [str(w.message) for w in seen if issubclass(w.category, JupyterServerAuthWarning)] == []
