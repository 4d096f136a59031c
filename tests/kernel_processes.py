"""Counting the kernel processes a test started: no test may leave one running."""

from __future__ import annotations

import os
import subprocess


def kernel_processes() -> set[int]:
    """PIDs of live (not zombie) ipykernel_launcher processes that are children of this process."""
    out = subprocess.run(
        ["ps", "-eo", "pid=,ppid=,stat=,args="], capture_output=True, text=True, check=True
    ).stdout
    me = os.getpid()
    pids = set()
    for line in out.splitlines():
        pid, ppid, stat, args = line.split(None, 3)
        if int(ppid) == me and "ipykernel_launcher" in args and not stat.startswith("Z"):
            pids.add(int(pid))
    return pids
