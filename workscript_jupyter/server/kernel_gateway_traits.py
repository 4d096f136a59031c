"""Where the server's kernels run: the ``gateway_url`` trait (a Kernel or Enterprise Gateway).

A trait group of its own, as the plugins' (plugin_traits.py) are: ``WorkscriptApp`` lists it
among its bases. Unset (the default), ``notebook`` and ``python`` nodes run on local kernels as
before; set, :meth:`KernelGatewayTraits.kernel_gateway` checks the settings, points
jupyter_server's gateway client at the gateway and returns them, and the run services take a
``RemoteKernelPool`` (runner/remote_kernels.py) instead of a local ``KernelPool``.
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import Float, HasTraits, Unicode, default

__all__ = ["KernelGatewayTraits"]


class KernelGatewayTraits(HasTraits):
    gateway_url = Unicode(
        "",
        help="Run the kernels of notebook and python nodes on this Jupyter Kernel Gateway or "
        "Enterprise Gateway (http:// or https://). Empty: local kernels. Unset: "
        "WORKSCRIPT_GATEWAY_URL.",
    ).tag(config=True)

    gateway_auth_token = Unicode(
        "",
        help="The gateway's auth token (sent as 'Authorization: token ...'). Unset: "
        "WORKSCRIPT_GATEWAY_AUTH_TOKEN, else JUPYTER_GATEWAY_AUTH_TOKEN.",
    ).tag(config=True)

    gateway_request_timeout = Float(
        42.0, help="Seconds a request to the gateway may take (a kernel start is one)."
    ).tag(config=True)

    @default("gateway_url")
    def _gateway_url_from_env(self) -> str:
        return os.environ.get("WORKSCRIPT_GATEWAY_URL", "").strip()

    @default("gateway_auth_token")
    def _gateway_token_from_env(self) -> str:
        return os.environ.get("WORKSCRIPT_GATEWAY_AUTH_TOKEN") or os.environ.get(
            "JUPYTER_GATEWAY_AUTH_TOKEN", ""
        )

    def kernel_gateway(self) -> Any:
        """The configured gateway's ``GatewaySettings`` (the client pointed at it), or None.

        A bad URL or timeout raises ``ConfigurationError`` naming the trait, never the token.
        """
        if not self.gateway_url.strip():
            return None
        from ..runner.remote_kernels import GatewaySettings, configure_gateway

        settings = GatewaySettings(
            self.gateway_url.strip(),
            auth_token=self.gateway_auth_token or None,
            request_timeout=self.gateway_request_timeout,
            setting="WorkscriptApp.gateway_url",
        )
        configure_gateway(settings)
        return settings
