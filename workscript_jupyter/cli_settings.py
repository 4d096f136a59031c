"""``workscript settings``: every setting of the server extension, its help and its default.

The settings are the configurable traits of ``WorkscriptApp`` (server/app.py), set as
``c.WorkscriptApp.<name> = ...`` in ``jupyter_server_config.py`` or ``--WorkscriptApp.<name>=...``
on the command line. ``jupyter server --help-all`` does not list an extension's traits;
``workscript settings`` and ``jupyter workscript --help-all`` do.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from .cli_common import EXIT_OK
from .cli_common import print_json as _print_json

__all__ = ["add_settings_parser", "run_settings_command", "settings"]


def add_settings_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "settings",
        help="list the server extension's settings (c.WorkscriptApp.*) with help and defaults",
        description="Every setting of the Workscript server extension: set it as "
        "c.WorkscriptApp.NAME = VALUE in jupyter_server_config.py, or --WorkscriptApp.NAME=VALUE "
        "on the jupyter server command line.",
    )
    parser.add_argument("--json", action="store_true", help="the settings as a JSON list")


def settings() -> list[dict[str, Any]]:
    """``[{name, type, default, help}]`` for every configurable trait of ``WorkscriptApp``."""
    from jupyter_server.extension.application import ExtensionApp

    from .server.app import WorkscriptApp

    # ours: WorkscriptApp's own and those of its trait groups (accounts, AI), not ExtensionApp's
    inherited = set(ExtensionApp.class_traits(config=True))
    ours = {
        name: trait
        for name, trait in WorkscriptApp.class_traits(config=True).items()
        if name not in inherited
    }
    computed: set[str] = set()  # defaults made by @default methods (the environment, a file)
    for cls in WorkscriptApp.__mro__:
        computed |= set(cls.__dict__.get("_trait_default_generators", {}))
    out = []
    for name, trait in sorted(ours.items()):
        out.append(
            {
                "name": name,
                "type": type(trait).__name__,
                # a default computed at start (from an environment variable, a file) is not
                # the class's static value: say so rather than print a misleading 0 or None
                "default": (
                    "(computed: see help)" if name in computed else trait.default_value_repr()
                ),
                "help": " ".join((trait.help or "").split()),
            }
        )
    return out


def run_settings_command(args: argparse.Namespace) -> int:
    found = settings()
    if args.json:
        _print_json(found)
        return EXIT_OK
    for setting in found:
        print(f"c.WorkscriptApp.{setting['name']} = {setting['default']}  ({setting['type']})")
        for line in textwrap.wrap(setting["help"], 92) or ["(no help)"]:
            print(f"    {line}")
    return EXIT_OK
