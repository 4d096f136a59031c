"""``ServerClient``: the kernel's way to the workscript server that serves its notebook.

The magics use it to save a cell's workflow, schedule it and run it on the server. Calls from a
magic are synchronous (``httpx``): the server is another process, so a short blocking request
cannot deadlock the kernel's loop. The run follower (``remote.py``) uses the async variants.

``ServerClient.discover()`` looks, in order, at ``WORKSCRIPT_SERVER_URL`` (+ ``WORKSCRIPT_API_KEY``,
a workscript API key sent as ``X-API-Key`` — for a server that is not this kernel's own Jupyter
— or ``WORKSCRIPT_TOKEN``, a Jupyter token),
at JupyterHub's ``JUPYTERHUB_SERVICE_URL`` (+ ``JUPYTERHUB_API_TOKEN``), then at the running
servers' runtime files (the deepest ``root_dir`` holding the kernel's working directory whose
``/workscript/health`` answers). The token only ever goes into an ``Authorization`` header: it is
never printed, logged, put in a URL or in an error message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..engine import RunError, RunResult, TimelineEntry
from ..errors import WorkscriptError

__all__ = [
    "ServerClient",
    "ServerError",
    "ServerNotFoundError",
    "format_server_error",
    "parse_time",
    "to_run_result",
]

_TIMEOUT = 30.0
_PAGE = 200
_ANY_HOST = {"0.0.0.0", "::", "[::]", ""}


class ServerError(WorkscriptError):
    """The server refused a request (its ``error`` envelope), or could not be reached."""

    code = "SERVER_ERROR"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message, details=details)
        self.status = status
        if code:
            self.code = code


class ServerNotFoundError(WorkscriptError):
    """No workscript server was found; the message lists what was tried."""

    code = "SERVER_NOT_FOUND"


def format_server_error(error: WorkscriptError) -> str:
    """The message and one line per detail (``field: message`` or ``/path: message``)."""
    lines = [error.message]
    details = error.details
    if isinstance(details, dict):
        details = [details]
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and "message" in item:
                where = item.get("field") or item.get("path") or ""
                lines.append(f"  {where}: {item['message']}" if where else f"  {item['message']}")
            else:
                lines.append(f"  {item}")
    return "\n".join(lines)


def _normalise(url: str) -> str:
    """``http://0.0.0.0:8888/user/x`` → ``http://127.0.0.1:8888/user/x/`` (a bind-all address
    is not one to connect to; httpx joins relative paths under a base ending in ``/``)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    netloc = parts.netloc
    if host in _ANY_HOST:
        netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme or "http", netloc, path, "", ""))


def _error_of(response: httpx.Response) -> ServerError:
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return ServerError(
            str(error.get("message") or f"HTTP {status}"),
            status=status,
            code=str(error.get("code") or ""),
            details=error.get("details"),
        )
    if status in (401, 403):
        return ServerError(
            f"the server refused the credentials (HTTP {status}): check the token", status=status
        )
    if isinstance(body, dict) and body.get("message"):  # Jupyter's own refusals
        return ServerError(f"{body['message']} (HTTP {status})", status=status)
    return ServerError(f"HTTP {status} from {response.request.url.path}", status=status)


class ServerClient:
    """A small REST client of one workscript server (a Jupyter server with the extension)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        root_dir: str | os.PathLike[str] | None = None,
        source: str = "",
        timeout: float = _TIMEOUT,
    ) -> None:
        self.base_url = _normalise(base_url)
        self.root_dir = Path(root_dir) if root_dir else None
        self.source = source or "given"
        self.timeout = timeout
        self.__token = token
        self._http: httpx.Client | None = None

    def __repr__(self) -> str:  # never the token
        return f"<ServerClient {self.base_url} ({self.source})>"

    # -- discovery ----------------------------------------------------------------------------

    @classmethod
    def discover(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        runtime_dir: str | None = None,
        timeout: float = 2.0,
    ) -> ServerClient:
        """The server this kernel belongs to; ``ServerNotFoundError`` lists what was tried."""
        env = os.environ if environ is None else environ
        if env.get("WORKSCRIPT_SERVER_URL"):
            return cls(
                env["WORKSCRIPT_SERVER_URL"],
                env.get("WORKSCRIPT_API_KEY") or env.get("WORKSCRIPT_TOKEN", ""),
                source="WORKSCRIPT_SERVER_URL",
            )
        if env.get("JUPYTERHUB_SERVICE_URL"):
            return cls(
                env["JUPYTERHUB_SERVICE_URL"],
                env.get("JUPYTERHUB_API_TOKEN", ""),
                source="JupyterHub (JUPYTERHUB_SERVICE_URL)",
            )
        here = Path(cwd if cwd is not None else os.getcwd()).resolve()
        tried = ["WORKSCRIPT_SERVER_URL is not set", "JUPYTERHUB_SERVICE_URL is not set"]
        servers, where = _running_servers(runtime_dir)
        if not servers:
            tried.append(f"no running Jupyter server in the runtime files ({where})")
        for info in _by_closeness(servers, here):
            client = cls(
                str(info["url"]),
                str(info.get("token") or ""),
                root_dir=str(info.get("root_dir") or info.get("notebook_dir") or "") or None,
                source=f"runtime file of the Jupyter server pid {info.get('pid')}",
                timeout=timeout,
            )
            problem = client._health_problem()
            if problem is None:
                client.timeout = _TIMEOUT
                return client
            tried.append(f"{client.base_url} (root {client.root_dir}): {problem}")
        raise ServerNotFoundError(
            "no workscript server found; tried: "
            + "; ".join(tried)
            + ". Start Jupyter with the workscript extension, or set WORKSCRIPT_SERVER_URL "
            "and WORKSCRIPT_TOKEN"
        )

    def _health_problem(self) -> str | None:
        try:
            with self._client() as http:
                response = http.get("workscript/health")
        except httpx.HTTPError as error:
            return f"not reachable ({type(error).__name__})"
        if response.status_code == 200:
            return None
        if response.status_code == 503 and _names_a_status(response):
            return None  # a degraded server (e.g. Redis down) still runs workflows
        return f"/workscript/health answered HTTP {response.status_code}"

    # -- HTTP ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if not self.__token:
            return {}
        if self.__token.startswith("wks_"):  # a workscript API key: opens /workscript/* only
            return {"X-API-Key": self.__token}
        return {"Authorization": f"token {self.__token}"}

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self._headers(), timeout=self.timeout)

    def async_client(self) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on this server (the caller closes it)."""
        return httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers(), timeout=self.timeout
        )

    def websocket_request(self) -> Any:
        """A tornado ``HTTPRequest`` for ``/workscript/ws`` with the credentials in a header."""
        from tornado.httpclient import HTTPRequest

        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        url = urlunsplit((scheme, parts.netloc, parts.path + "workscript/ws", "", ""))
        return HTTPRequest(url, headers=self._headers(), connect_timeout=10, request_timeout=10)

    def request(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        """One call; the answer's JSON (None for 204). Errors: ``ServerError``."""
        if self._http is None:
            self._http = self._client()
        try:
            response = self._http.request(method, "workscript/" + path, json=json, params=params)
        except httpx.HTTPError as error:
            raise ServerError(
                f"cannot reach the workscript server at {self.base_url} "
                f"({type(error).__name__}: {error})"
            ) from None
        return self.answer(response)

    @staticmethod
    def answer(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise _error_of(response)
        return response.json() if response.content else None

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            query = {**params, "limit": _PAGE, **({"cursor": cursor} if cursor else {})}
            page = self.request("GET", path, params=query)
            yield from page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                return

    # -- workflows, runs, automations ---------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return dict(self.request("GET", "health"))

    def find_workflow(self, definition_id: str) -> dict[str, Any] | None:
        """The newest of the caller's own saved workflows whose definition has this ``id``
        (an admin sees everybody's: another user's namesake is never taken)."""
        me = self.health().get("user", {}).get("id")
        for record in self._pages("workflows"):
            mine = me is None or record.get("ownerId") == me
            if mine and record.get("definition", {}).get("id") == definition_id:
                return record
        return None

    def save_workflow(self, document: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create the workflow, or update the one with the same definition ``id``.

        Returns the record and whether it was created.
        """
        body = {"definition": dict(document)}
        existing = self.find_workflow(str(document.get("id", "")))
        if existing is None:
            return dict(self.request("POST", "workflows", json=body)), True
        for key in ("name", "version", "description"):
            if isinstance(document.get(key), str):
                body[key] = document[key]
        return dict(self.request("PUT", f"workflows/{existing['id']}", json=body)), False

    def get_execution(self, execution_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"executions/{execution_id}"))

    def cancel_execution(self, execution_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"executions/{execution_id}/cancel"))

    def validate_cron(self, expression: str, timezone: str | None, count: int = 5) -> Any:
        body: dict[str, Any] = {"expression": expression, "count": count}
        if timezone:
            body["timezone"] = timezone
        return self.request("POST", "cron/validate", json=body)

    def list_automations(self, **params: Any) -> list[dict[str, Any]]:
        return list(self._pages("automations", **params))

    def save_schedule(
        self, workflow_id: str, name: str, cron: str, timezone: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Create or update (and enable) the cron automation ``name`` of a saved workflow.

        One named ``... schedule`` of the workflow is updated (and renamed) when none has the
        name yet: a renamed workflow must not leave its old schedule firing beside the new one.
        """
        body = {"name": name, "cron": cron, "timezone": timezone or "UTC", "enabled": True}
        mine = [a for a in self.list_automations() if a.get("workflowId") == workflow_id]
        same = [a for a in mine if a.get("name") == name] or [
            a for a in mine if str(a.get("name")).endswith(" schedule")
        ]
        body["triggerType"] = "cron"
        if same:
            return dict(self.request("PUT", f"automations/{same[0]['id']}", json=body)), False
        body["workflowId"] = workflow_id
        return dict(self.request("POST", "automations", json=body)), True

    def toggle_automation(self, automation_id: str, enabled: bool) -> dict[str, Any]:
        path = f"automations/{automation_id}/toggle"
        return dict(self.request("PATCH", path, json={"enabled": enabled}))

    def path_on_server(self, path: str | os.PathLike[str]) -> str:
        """A path of the kernel's working directory as the server's runs see it (relative to the
        server's root), when the root is known; else the path unchanged."""
        local = Path(path)
        if self.root_dir is None:
            return local.as_posix()
        try:
            return Path(os.path.relpath(Path.cwd() / local, self.root_dir.resolve())).as_posix()
        except ValueError:  # another drive
            return local.as_posix()


def _running_servers(runtime_dir: str | None) -> tuple[list[dict[str, Any]], str]:
    """The running servers' infos (not those on a UNIX socket) and where they were looked for."""
    from jupyter_core.paths import jupyter_runtime_dir
    from jupyter_server.serverapp import list_running_servers

    infos = list_running_servers(runtime_dir)
    servers = [info for info in infos if info.get("url") and not info.get("sock")]
    return servers, runtime_dir or jupyter_runtime_dir()


def _by_closeness(servers: list[dict[str, Any]], here: Path) -> list[dict[str, Any]]:
    """Servers whose root holds ``here``, deepest first; the others only if none does."""

    def root(info: dict[str, Any]) -> Path | None:
        value = info.get("root_dir") or info.get("notebook_dir")
        return Path(value).resolve() if value else None

    holding = [s for s in servers if (r := root(s)) is not None and here.is_relative_to(r)]
    if holding:
        return sorted(holding, key=lambda s: len(root(s).parts), reverse=True)  # type: ignore[union-attr]
    return servers


def parse_time(value: Any) -> float | None:
    """Epoch seconds of an API timestamp (ISO 8601 ending in Z), or None."""
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def to_run_result(execution: Mapping[str, Any]) -> RunResult:
    """An ended execution (the REST JSON) as the engine's RunResult, for the local views."""
    started = parse_time(execution.get("startedAt")) or parse_time(execution.get("createdAt"))
    started = started or time.time()
    ended = parse_time(execution.get("endedAt")) or started
    error = execution.get("error")
    timeline = tuple(
        TimelineEntry(
            path=str(entry.get("path", "")),
            type=str(entry.get("type", "")),
            edge=entry.get("edge"),
            started_at=parse_time(entry.get("startedAt")) or started,
            duration_ms=float(entry.get("durationMs") or 0.0),
            error=entry.get("error"),
        )
        for entry in execution.get("timeline") or ()
    )
    return RunResult(
        execution_id=str(execution.get("id", "")),
        workflow_id=str(execution.get("workflowId") or ""),
        status=cast(Any, execution.get("status", "failed")),
        final_state=dict(execution.get("finalState") or {}),
        started_at=started,
        ended_at=ended,
        node_runs=int(execution.get("nodeRuns") or 0),
        error=RunError(
            message=str(error.get("message", "")),
            code=str(error.get("code", "ERROR")),
            node_path=str(error.get("nodePath") or ""),
            node_type=str(error.get("nodeType") or ""),
        )
        if isinstance(error, dict)
        else None,
        timeline=timeline,
    )


def _names_a_status(response: httpx.Response) -> bool:
    """Whether a 503 is the extension's own health answer (not a proxy's error page)."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("status") in ("degraded", "down")
