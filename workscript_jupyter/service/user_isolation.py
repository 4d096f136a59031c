"""What a run may touch, per user: the ``services_factory`` of a server (single-user or shared).

:class:`UserServices` builds the ``engine.Services`` of each run from its caller:

- **Files**: the run root. A single-user server uses its root; a shared server gives each user
  ``user_root_template`` (default ``{root}/{username}``), created on first use. The
  ``filesystem`` node, the ``notebook`` node's paths and the kernels' working directory all stay
  inside it (``..``, absolute paths and symlinks leading out are refused: nodes/files.py,
  runner/paths.py).
- **Code** (``python``, ``notebook``): on a shared server only admins, the users named in
  ``code_users`` and the members of ``code_groups`` (JupyterHub groups) may run code; the others
  get ``Services.notebooks_refusal`` and the nodes take their error edge with it. Kernels start
  with ``kernel_env`` (runner/kernel_env.py): the allow-listed names plus the admin's extras on a
  shared server, the server's environment minus Workscript's secrets on a single-user one.
- **Network**: ``Services.network`` denies loopback, link-local, private and metadata addresses
  on a shared server except ``http_allow_private``; a single-user server allows them.

(The kernels still run as the server's OS user: code nodes are for trusted users until code runs
under each user's own account.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine import Services
from ..engine.net_policy import NetworkPolicy
from ..runner import KernelPool, RunnerGateway
from ..runner.kernel_env import DEFAULT_ENV_ALLOW, kernel_env
from ..runner.paths import DEFAULT_USER_ROOT_TEMPLATE, user_root
from .values import Caller

__all__ = ["IsolationSettings", "UserServices"]


@dataclass(frozen=True, slots=True)
class IsolationSettings:
    """``shared``: not a single-user server. ``user_root_template`` "" means the default:
    ``{root}/{username}`` on a shared server, the root itself on a single-user one."""

    shared: bool = False
    root: Path | None = None
    user_root_template: str = ""
    code_users: frozenset[str] = frozenset()
    code_groups: frozenset[str] = frozenset()
    kernel_env_allow: tuple[str, ...] = DEFAULT_ENV_ALLOW
    kernel_env_extra: Mapping[str, str] = field(default_factory=dict)
    http_allow_private: tuple[str, ...] = ()

    @property
    def template(self) -> str | None:
        if self.user_root_template:
            return self.user_root_template
        return DEFAULT_USER_ROOT_TEMPLATE if self.shared else None

    def kernel_env(self) -> dict[str, str]:
        return kernel_env(
            shared=self.shared, allow=self.kernel_env_allow, extra=self.kernel_env_extra
        )


def _no_groups(user_id: str) -> Sequence[str]:
    return ()


class UserServices:
    """``services_factory(caller)``: each run's ``Services``, one notebook gateway per root."""

    def __init__(
        self,
        settings: IsolationSettings,
        *,
        pool: KernelPool | None = None,
        groups_of: Callable[[str], Sequence[str]] = _no_groups,
        owner_notebooks: Callable[[str], Any] | None = None,
    ) -> None:
        self.settings = settings
        # on a hub: the notebook gateway of a user's own server, by hub name
        # (integrations/jupyterhub.py); their code runs as them, so no code refusal applies
        self.owner_notebooks = owner_notebooks
        self.pool = pool
        self.groups_of = groups_of
        self.env = settings.kernel_env()
        self.network = NetworkPolicy(
            deny_private=settings.shared, allow=tuple(settings.http_allow_private)
        )
        self._gateways: dict[Path, RunnerGateway] = {}
        self._roots: dict[str, Path] = {}
        self._lock = threading.Lock()

    def root_for(self, caller: Caller) -> Path | None:
        root, template = self.settings.root, self.settings.template
        if root is None or template is None:
            return root
        found = self._roots.get(caller.user_id)
        if found is None:
            found = user_root(root, template, username=caller.user.username, user_id=caller.user_id)
            self._roots[caller.user_id] = found
        return found

    def code_refusal(self, caller: Caller) -> str | None:
        """Why this caller may not run code nodes, or None."""
        settings = self.settings
        if not settings.shared or caller.is_admin:
            return None
        user = caller.user
        names = {user.username, user.external_id or user.username}
        if names & settings.code_users:
            return None
        if set(self.groups_of(caller.user_id)) & settings.code_groups:
            return None
        return (
            f"python/notebook nodes are disabled for user {user.username!r} on this shared "
            "server; an admin can allow them with c.WorkscriptApp.code_users / code_groups"
        )

    def gateway(self, root: Path) -> RunnerGateway:
        with self._lock:
            found = self._gateways.get(root)
            if found is None:
                found = RunnerGateway(root, self.pool, env=self.env)
                self._gateways[root] = found
            return found

    def __call__(self, caller: Caller) -> Services:
        root = self.root_for(caller)
        notebooks: Any = None
        if self.owner_notebooks is not None:
            user = caller.user
            # only a hub user has a server; an account of the service's own (a JWT login) whose
            # name happens to be a hub user's must never run code in that user's server
            if user.source == "jupyter" and user.external_id:
                refusal = None
                notebooks = self.owner_notebooks(user.external_id)
            else:
                refusal = (
                    f"notebook and python steps on a hub run in their owner's server, and "
                    f"{user.username!r} is not a hub user"
                )
        else:
            refusal = self.code_refusal(caller)
            if root is not None and refusal is None:
                notebooks = self.gateway(root)
        return Services(
            root_dir=root,
            notebooks=notebooks,
            notebooks_refusal=refusal,
            network=self.network,
        )

    async def close(self) -> None:
        """Shut down the kernels of every gateway (the runs cut short)."""
        for gateway in list(self._gateways.values()):
            await gateway.close()
