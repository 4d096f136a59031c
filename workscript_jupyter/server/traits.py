"""``WorkscriptTraits``: every group of ``WorkscriptApp``'s settings beyond its own, each in a
module of its own (``*_traits.py``): the role on a hub, accounts, AI, secrets at rest, Google,
kernel gateways, plugins. ``workscript settings`` lists them all (cli_settings.py)."""

from __future__ import annotations

from .account_traits import AccountTraits
from .ai_traits import AiTraits
from .google_traits import GoogleTraits
from .hub_traits import HubTraits
from .kernel_gateway_traits import KernelGatewayTraits
from .plugin_traits import PluginTraits
from .secret_traits import SecretTraits

__all__ = ["WorkscriptTraits"]


class WorkscriptTraits(
    HubTraits,
    AccountTraits,
    AiTraits,
    SecretTraits,
    GoogleTraits,
    KernelGatewayTraits,
    PluginTraits,
):
    """The trait groups, in the order ``WorkscriptApp`` took them."""
