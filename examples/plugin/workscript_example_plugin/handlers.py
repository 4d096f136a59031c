"""``/workscript/plugins/example/greetings``: the plugin's route.

A ``PluginHandler`` is a workscript handler: signed-in callers only, the verb's permission
checked, errors as workscript's JSON errors. ``self.plugin`` is the plugin's context.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from sqlalchemy.engine import Engine
from tornado import web

from workscript_jupyter.errors import BadRequestError, ServiceUnavailableError
from workscript_jupyter.server.handlers.plugins import PluginHandler

from .greetings import MAX_TEXT, add_greeting, list_greetings

__all__ = ["GreetingsHandler"]


class GreetingsHandler(PluginHandler):
    """GET: the caller's greetings and the plugin's own. POST ``{"text": ...}``: add one."""

    permissions = {"GET": None, "POST": "resource:create"}

    @property
    def engine(self) -> Engine:
        if self.plugin.engine is None:
            raise ServiceUnavailableError("the example plugin needs the workscript database")
        return self.plugin.engine

    @web.authenticated
    @authorized
    async def get(self) -> None:
        caller = await self.caller()
        rows = await self.plugin.run_off_loop(list_greetings, self.engine, owner_id=caller.user.id)
        self.write_json({"greetings": rows})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        caller = await self.caller()
        text = self.json_object().get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise BadRequestError(
                f"text must be a non-empty string of at most {MAX_TEXT} characters",
                details={"field": "text"},
            )
        row = await self.plugin.run_off_loop(
            add_greeting, self.engine, text.strip(), owner_id=caller.user.id
        )
        self.write_json(row, 201)
