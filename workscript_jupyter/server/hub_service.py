"""What the Workscript service needs when JupyterHub manages it (docs/jupyterhub.md)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["stop_on_sigint"]


def stop_on_sigint(serverapp: Any) -> None:
    """JupyterHub stops a managed service with SIGINT, which a Jupyter server without a terminal
    takes as a KeyboardInterrupt that skips every cleanup, this extension's stop included (its
    runs would be left "running"): the service stops on it as on SIGTERM instead
    (tests/hub/). With a terminal, Jupyter's own "Shut down?" prompt stays."""
    import signal

    stop = getattr(serverapp, "_signal_stop", None)
    if stop is not None and not (sys.stdin is not None and sys.stdin.isatty()):
        signal.signal(signal.SIGINT, stop)
