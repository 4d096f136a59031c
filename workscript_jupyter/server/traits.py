"""``WorkscriptTraits``: every group of ``WorkscriptApp``'s settings beyond its own, each in a
module of its own (``*_traits.py``): accounts, AI, secrets at rest, Google, kernel gateways,
plugins. ``workscript settings`` lists them all (cli_settings.py)."""

from __future__ import annotations

from .account_traits import AccountTraits
from .ai_traits import AiTraits
from .google_traits import GoogleTraits
from .kernel_gateway_traits import KernelGatewayTraits
from .plugin_traits import PluginTraits
from .secret_traits import SecretTraits

__all__ = ["WorkscriptTraits"]


class WorkscriptTraits(
    AccountTraits, AiTraits, SecretTraits, GoogleTraits, KernelGatewayTraits, PluginTraits
):
    """The trait groups, in the order ``WorkscriptApp`` took them."""
