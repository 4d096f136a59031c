"""The OpenAPI contract of the REST API, and ``GET /workscript/openapi.json`` that serves it.

The document is ``openapi.yaml`` next to this module, the one copy: it ships in the wheel (a
test checks) and the tests hold every route and response to it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from jupyter_server.auth.decorator import authorized
from tornado import web

from .._version import __version__
from .base import WorkscriptHandler

__all__ = ["SPEC_RESOURCE", "OpenApiHandler", "load_spec"]

SPEC_RESOURCE = "openapi.yaml"


@cache
def _spec_json() -> str:
    text = (
        files(__package__ or "workscript_jupyter.server")
        .joinpath(SPEC_RESOURCE)
        .read_text(encoding="utf-8")
    )
    spec = yaml.safe_load(text)
    if not isinstance(spec, dict) or "paths" not in spec:
        raise RuntimeError(f"{SPEC_RESOURCE} is not an OpenAPI document")
    spec["info"]["version"] = __version__
    # JSON round trip: YAML anchors become independent copies, and the text is served as is
    return json.dumps(spec, ensure_ascii=False)


def load_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document as a fresh dict (``info.version`` = the package version)."""
    spec: dict[str, Any] = json.loads(_spec_json())
    return spec


class OpenApiHandler(WorkscriptHandler):
    """``GET /workscript/openapi.json``: the contract, as JSON, for any authenticated caller
    (a Jupyter identity, an API key or a JWT)."""

    auth_resource = "workscript:openapi"
    permissions = {"GET": None}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(_spec_json())
