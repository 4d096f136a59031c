"""The role of this server and its settings on a JupyterHub (docs/jupyterhub.md).

- ``role``: ``local`` (one server does everything), ``service`` (the hub's shared Workscript
  service) or ``client`` (a hub user server that forwards to the service: client_role.py). Unset,
  it comes from ``WORKSCRIPT_ROLE``, else is ``client`` in a hub user server told where the
  service is (``WORKSCRIPT_SERVICE_URL``), else ``local``.
- client: ``service_url`` and ``service_name`` say where to forward.
- service: ``admin_groups`` (hub groups of admins); ``owner_servers`` runs notebook and
  python steps in their owner's named server (integrations/jupyterhub.py), through ``hub_url``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, HasTraits, List, Unicode, default

from .bad_settings import built_or_stop

__all__ = ["HubTraits"]


ROLES = ("local", "client", "service")


class HubTraits(HasTraits):
    role = Unicode(
        help=(
            "local: a single-user server that runs and schedules its own workflows; "
            "client: a JupyterHub user server that forwards /workscript/* to the shared service "
            "(no scheduler, no database); service: the hub's shared server that owns the "
            "schedules. Unset: WORKSCRIPT_ROLE, else client in a hub user server with "
            "WORKSCRIPT_SERVICE_URL set, else local."
        ),
    ).tag(config=True)

    service_url = Unicode(
        "",
        help="client role: the Workscript service's URL as the hub registered it (e.g. "
        "http://127.0.0.1:10101). Unset: WORKSCRIPT_SERVICE_URL.",
    ).tag(config=True)

    service_name = Unicode(
        "workscript", help="client role: the service's name in the hub (its /services/<name>/)."
    ).tag(config=True)

    owner_servers = Bool(
        help="service role on a hub: run notebook and python steps in their owner's named "
        "server (owner_server_name), started through the hub's API when it is not running. "
        "Unset: on for a service the hub knows (JUPYTERHUB_API_URL set), unless "
        "WORKSCRIPT_OWNER_SERVERS=0.",
    ).tag(config=True)

    owner_server_name = Unicode(
        "workscript", help="The named server of each user that runs their notebook steps."
    ).tag(config=True)

    owner_server_spawn_timeout = Float(
        120.0, help="Seconds a user's server may take to start before the step fails."
    ).tag(config=True)

    hub_url = Unicode(
        "",
        help="service role: where the service reaches users' servers (the hub's proxy, e.g. "
        "http://127.0.0.1:8000 or http://proxy-public in Kubernetes). Unset: WORKSCRIPT_HUB_URL.",
    ).tag(config=True)

    admin_groups = List(
        Unicode(),
        default_value=[],
        help="Hub groups whose members are workscript admins (a shared server or the hub's "
        "service): the hub tells the server each user's groups.",
    ).tag(config=True)

    def admin_entries(self) -> list[str]:
        """admin_users and one ``group:<name>`` entry per admin group (service/identity.py)."""
        users = list(getattr(self, "admin_users", []))
        return users + [f"group:{group}" for group in self.admin_groups if group.strip()]

    @default("role")
    def _role_from_env(self) -> str:
        from .client_role import detect_role

        return detect_role(os.environ)

    @default("owner_servers")
    def _owner_servers_from_env(self) -> bool:
        if os.environ.get("WORKSCRIPT_OWNER_SERVERS", "").strip() in ("0", "false", "no"):
            return False
        return bool(os.environ.get("JUPYTERHUB_API_URL"))

    @default("hub_url")
    def _hub_url_from_env(self) -> str:
        return os.environ.get("WORKSCRIPT_HUB_URL", "").strip()

    def check_role(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"WorkscriptApp.role must be local, client or service, not {self.role!r}"
            )

    owner_servers_client: Any = None  # the service's OwnerServers, once built
    log: Any  # WorkscriptApp's logger (the trait groups are its bases)

    def client_role_settings(self) -> dict[str, Any]:
        """What a client-role server holds (client_role.py); a bad setting stops the server."""
        from .client_role import client_settings

        serverapp: Any = getattr(self, "serverapp", None)
        root = Path(serverapp.root_dir if serverapp is not None else ".").expanduser().resolve()
        return built_or_stop(self.log, lambda: client_settings(self, root_dir=root))

    def hub_owner_servers(self) -> Any:
        """The service's ``OwnerServers`` (None unless role service with owner_servers on); a
        bad setting stops the server."""
        self.owner_servers_client = built_or_stop(self.log, self._build_owner_servers)
        return self.owner_servers_client

    def _build_owner_servers(self) -> Any:
        if self.role != "service" or not self.owner_servers:
            return None
        from ..errors import ConfigurationError
        from ..integrations.jupyterhub import HubSettings, OwnerServers

        api_url = os.environ.get("JUPYTERHUB_API_URL", "")
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if not api_url or not token:
            raise ConfigurationError(
                "WorkscriptApp.owner_servers needs the hub's JUPYTERHUB_API_URL and "
                "JUPYTERHUB_API_TOKEN (run the service under the hub, or turn it off)"
            )
        if not self.hub_url:
            raise ConfigurationError(
                "WorkscriptApp.owner_servers needs WorkscriptApp.hub_url (WORKSCRIPT_HUB_URL): "
                "where the service reaches users' servers through the hub's proxy"
            )
        return OwnerServers(
            HubSettings(
                api_url=api_url,
                api_token=token,
                proxy_url=self.hub_url,
                server_name=self.owner_server_name,
                spawn_timeout=self.owner_server_spawn_timeout,
            )
        )
