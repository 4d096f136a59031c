"""Kernels that live on a Jupyter Kernel Gateway or Enterprise Gateway, not on this machine.

The engine is jupyter_server's own gateway client (``GatewayKernelManager`` starts and stops a
kernel over the gateway's REST API, ``GatewayKernelClient`` speaks its channels over one
WebSocket), so a gateway in front of Kubernetes, YARN or Spark runs our notebooks and python
steps. This module fits that client to the runner, which drives kernels as it drives local ones:

- :func:`configure_gateway` sets the process-wide ``GatewayClient`` singleton: jupyter_server
  reads the URL, token and timeouts from it on every request, so a process talks to one gateway.
- :class:`RemoteKernelManager` sends the gateway only ``KERNEL_*`` variables (never this
  process's environment: the gateway decides the kernel's), and asks the gateway whether the
  kernel is alive (the base class would poll a local process it does not have).
- :class:`RemoteKernelClient` opens its WebSocket in ``start_channels`` without ``await`` (the
  runner calls it as it calls a local client), sends the token on it, and waits for messages
  by sleeping between polls where jupyter_server's queue spins the event loop. A kernel the
  gateway reports ``restarting`` or ``dead`` counts as dead (the gateway keeps its id alive).
- :class:`RemoteKernelPool` is the warm pool with remote kernels; :func:`start_remote_kernel`
  starts one for ``run_notebook(kernel_manager=...)``, :func:`run_notebook_remotely` does both.

The kernels run where the gateway puts them: a run moves its kernel into the notebook's folder
(``os.chdir``), which only works when the gateway's kernels see the same files.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from threading import Thread
from typing import Any
from urllib.parse import urlsplit

import nbformat
import websocket
from jupyter_client.manager import AsyncKernelManager
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.gateway.managers import (
    ChannelQueue,
    GatewayKernelClient,
    GatewayKernelManager,
    HBChannelQueue,
)
from jupyter_server.utils import url_escape, url_path_join
from tornado import web
from traitlets import Type

from ..errors import ConfigurationError, NotebookError
from .execute import DEFAULT_START_TIMEOUT, NotebookRun, run_notebook
from .paths import resolve_inside
from .pool import KernelPool

__all__ = [
    "GatewaySettings",
    "KernelGatewayError",
    "RemoteKernelClient",
    "RemoteKernelManager",
    "RemoteKernelPool",
    "configure_gateway",
    "gateway_settings",
    "run_notebook_remotely",
    "start_remote_kernel",
]

#: first and longest pause between two polls of a channel queue (seconds)
_POLL_MIN, _POLL_MAX = 0.001, 0.02
#: the gateway's status for a kernel whose process died (restarted under the same id, or not)
_LOST_STATES = frozenset({"restarting", "dead"})


class KernelGatewayError(NotebookError):
    """The kernel gateway refused or could not be reached."""

    code = "KERNEL_GATEWAY_ERROR"


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Where the gateway is and how to talk to it. ``setting`` names the option in messages."""

    url: str
    auth_token: str | None = field(default=None, repr=False)
    connect_timeout: float = 40.0
    request_timeout: float = 42.0
    validate_cert: bool = True
    setting: str = "gateway_url"

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ConfigurationError(
                f"{self.setting}: the URL must not carry credentials, a query or a fragment "
                "(pass the token as the gateway auth token)"
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"{self.setting} {self.url!r}: expected the gateway's http:// or https:// URL"
            )
        for name in ("connect_timeout", "request_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigurationError(
                    f"{self.setting}: the gateway's {name} must be above 0 seconds, not {value}"
                )

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.rstrip("/")[len("http") :]


def gateway_settings(
    url: str | None, environ: Mapping[str, str], *, setting: str = "--gateway-url"
) -> GatewaySettings | None:
    """The gateway of a command: ``url`` (else ``WORKSCRIPT_GATEWAY_URL``), with the token from
    ``WORKSCRIPT_GATEWAY_AUTH_TOKEN`` (else ``JUPYTER_GATEWAY_AUTH_TOKEN``; never a command-line
    argument, which other users of the machine could read); None: kernels stay local."""
    url = (url or environ.get("WORKSCRIPT_GATEWAY_URL") or "").strip()
    if not url:
        return None
    token = environ.get("WORKSCRIPT_GATEWAY_AUTH_TOKEN") or environ.get(
        "JUPYTER_GATEWAY_AUTH_TOKEN"
    )
    return GatewaySettings(url, auth_token=token or None, setting=setting)


def configure_gateway(settings: GatewaySettings) -> GatewayClient:
    """Point jupyter_server's process-wide gateway client at ``settings``' gateway.

    A process talks to one gateway: configuring another URL once kernels may be in use raises
    a ``ConfigurationError`` rather than moving them.
    """
    client = GatewayClient.instance()
    current = (client.url or "").rstrip("/")
    if current and current != settings.url.rstrip("/"):
        raise ConfigurationError(
            f"{settings.setting}: this process already uses the gateway {current}; "
            "one gateway per process"
        )
    client.url = settings.url.rstrip("/")
    client.ws_url = settings.ws_url
    client.auth_token = settings.auth_token or ""
    client.connect_timeout = settings.connect_timeout
    client.request_timeout = settings.request_timeout
    client.validate_cert = settings.validate_cert
    client.allowed_envs = ""  # only KERNEL_* variables go to the gateway
    client._connection_args = {}  # rebuilt from the values above on the next request
    return client


class _PoliteQueue(ChannelQueue):
    """A channel queue that sleeps between polls (jupyter_server's spins on ``sleep(0)``)."""

    async def _async_get(self, timeout: float | None = None) -> Any:
        end = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        pause = _POLL_MIN
        while True:
            try:
                return self.get(block=False)
            except Empty:
                if self.response_router_finished:
                    # "died": the runner reports a closed channel as a dead kernel
                    raise RuntimeError("Kernel died: the gateway closed its connection") from None
                if end is not None and time.monotonic() >= end:
                    raise
                left = _POLL_MAX if end is None else max(end - time.monotonic(), 0.0)
                await asyncio.sleep(min(pause, left))
                pause = min(pause * 2, _POLL_MAX)


class _PoliteHBQueue(_PoliteQueue, HBChannelQueue):
    pass


class _IOPubQueue(_PoliteQueue):
    """IOPub, watching for the gateway's word that the kernel died.

    When a kernel process dies the gateway restarts it under the same id (``restarting``) or
    gives up (``dead``): either way the kernel that held the run's state is gone, though the
    gateway still lists the id. ``lost`` tells the kernel manager so.
    """

    lost = False

    def put_nowait(self, item: Any) -> None:
        content = item.get("content") or {}
        if item.get("msg_type") == "status" and content.get("execution_state") in _LOST_STATES:
            self.lost = True
        super().put_nowait(item)


class RemoteKernelClient(GatewayKernelClient):
    """A gateway kernel's client, started synchronously like a local (zmq) client."""

    def start_channels(  # type: ignore[override]
        self,
        shell: bool = True,
        iopub: bool = True,
        stdin: bool = True,
        hb: bool = True,
        control: bool = True,
    ) -> None:
        gateway = GatewayClient.instance()
        ws_url = url_path_join(
            gateway.ws_url or "", gateway.kernels_endpoint, url_escape(self.kernel_id), "channels"
        )
        headers = []
        if gateway.auth_token:
            headers.append(f"{gateway.auth_header_key}: {gateway.auth_scheme} {gateway.auth_token}")
        try:
            self.channel_socket = websocket.create_connection(
                ws_url,
                timeout=gateway.connect_timeout,
                enable_multithread=True,
                header=headers,
                sslopt={"ca_certs": gateway.ca_certs} if gateway.ca_certs else {},
            )
        except websocket.WebSocketBadStatusException as exc:
            raise KernelGatewayError(
                f"the gateway {gateway.url} refused the kernel's channels (HTTP "
                f"{exc.status_code}): check the gateway auth token"
            ) from None
        except OSError as exc:
            raise KernelGatewayError(
                f"cannot open the kernel's channels at the gateway {gateway.url}: {exc}"
            ) from None
        self.channel_socket.settimeout(None)  # the router thread blocks until messages come
        self._channels_stopped = False
        queues: dict[str, ChannelQueue] = {}
        kinds = {"hb": _PoliteHBQueue, "iopub": _IOPubQueue}
        for name in ("shell", "iopub", "stdin", "hb", "control"):
            queues[name] = kinds.get(name, _PoliteQueue)(name, self.channel_socket, self.log)
            setattr(self, f"_{name}_channel", queues[name])
        self._channel_queues = queues
        if isinstance(self.parent, RemoteKernelManager):
            self.parent.watch(queues["iopub"])
        # jupyter_client's start_channels: "starts" the queues above (no network)
        super(GatewayKernelClient, self).start_channels(
            shell=shell, iopub=iopub, stdin=stdin, hb=hb, control=control
        )
        self.response_router = Thread(target=self._route_responses, daemon=True)
        self.response_router.start()

    def stop_channels(self) -> None:
        if self.channel_socket is None:  # never started (a refused connection)
            return
        super().stop_channels()  # type: ignore[no-untyped-call]


class RemoteKernelManager(GatewayKernelManager):
    """One kernel on the configured gateway (see :func:`configure_gateway`)."""

    client_class = "workscript_jupyter.runner.remote_kernels.RemoteKernelClient"
    client_factory = Type(klass=RemoteKernelClient)

    async def start_kernel(self, **kwargs: Any) -> None:  # type: ignore[override]
        # the gateway gets KERNEL_* names only; the local environment (and its secrets) stays
        env: Mapping[str, str] = kwargs.pop("env", None) or {}
        kwargs["env"] = {k: v for k, v in env.items() if k.startswith("KERNEL_")}
        kwargs.setdefault("kernel_name", self.kernel_name)
        try:
            await super().start_kernel(**kwargs)
        except web.HTTPError as exc:
            raise _gateway_error(exc, f"cannot start a {kwargs['kernel_name']!r} kernel") from None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._watched: list[_IOPubQueue] = []

    def watch(self, iopub: ChannelQueue) -> None:
        """Count the kernel dead once ``iopub`` (one of its clients') hears it died."""
        if isinstance(iopub, _IOPubQueue):
            self._watched.append(iopub)

    async def _async_is_alive(self) -> bool:
        if not self.has_kernel or any(q.lost for q in self._watched):
            return False
        try:
            return bool(await self.refresh_model())  # type: ignore[no-untyped-call]
        except web.HTTPError:
            return False

    is_alive = _async_is_alive


def _gateway_error(exc: web.HTTPError, what: str) -> KernelGatewayError:
    url = GatewayClient.instance().url
    detail = (exc.log_message or "") % exc.args if exc.args else exc.log_message or ""
    if exc.status_code in (401, 403):
        detail = "the gateway refused the auth token"
    return KernelGatewayError(f"{what} on the gateway {url}: HTTP {exc.status_code}: {detail}")


def _new_manager(kernel_name: str) -> RemoteKernelManager:
    return RemoteKernelManager(kernel_name=kernel_name)


async def start_remote_kernel(
    kernel_name: str,
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> RemoteKernelManager:
    """Start a kernel on the configured gateway within ``timeout`` seconds; the caller owns it.

    ``cwd`` reaches the gateway as ``KERNEL_WORKING_DIR`` (Enterprise Gateway honours it).
    """
    km = _new_manager(kernel_name)
    try:
        await asyncio.wait_for(km.start_kernel(cwd=cwd, env=dict(env or {})), timeout)
    except TimeoutError:
        await _shutdown_quietly(km)
        raise KernelGatewayError(
            f"the gateway did not start a {kernel_name!r} kernel within {timeout:g} s"
        ) from None
    except BaseException:
        await _shutdown_quietly(km)
        raise
    return km


async def _shutdown_quietly(km: RemoteKernelManager) -> None:
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:
        km.log.warning("could not shut a gateway kernel down", exc_info=True)


async def run_notebook_remotely(
    path: str | Path,
    *,
    root_dir: str | Path,
    kernel_name: str | None = None,
    start_timeout: float = DEFAULT_START_TIMEOUT,
    **run_options: Any,
) -> NotebookRun:
    """``run_notebook`` on a kernel of the configured gateway, shut down when the run ends."""
    name = kernel_name or _declared_kernel(root_dir, path) or "python3"
    started = time.monotonic()
    km = await start_remote_kernel(name, cwd=str(Path(root_dir).resolve()), timeout=start_timeout)
    try:
        return await run_notebook(
            path,
            root_dir=root_dir,
            kernel_name=name,
            kernel_manager=km,
            start_timeout=max(start_timeout - (time.monotonic() - started), 1.0),
            **run_options,
        )
    finally:
        await _shutdown_quietly(km)


def _declared_kernel(root_dir: str | Path, path: str | Path) -> str | None:
    """The kernelspec name the notebook declares, or None (run_notebook reports bad paths)."""
    try:
        _, nb_path = resolve_inside(root_dir, path)
        nb = nbformat.read(nb_path, as_version=4)  # type: ignore[no-untyped-call]
        name = nb.metadata.get("kernelspec", {}).get("name")
    except Exception:  # noqa: BLE001 - run_notebook reports the real error
        return None
    return name if isinstance(name, str) and name else None


class RemoteKernelPool(KernelPool):
    """The warm pool (``pool.py``) whose kernels live on the configured gateway."""

    def _new_kernel_manager(self, name: str) -> AsyncKernelManager:
        return _new_manager(name)
