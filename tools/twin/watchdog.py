"""Stops a twin whose CLI died without stopping it (`kill -9`, a closed terminal): its processes must not outlive it.

The Supervisor starts `python -m tools.twin.watchdog STATE PARENT_PID` with a parent-death signal (prctl
PR_SET_PDEATHSIG): when the CLI dies, the kernel sends this process SIGTERM. It then stops every process the state
file still records (a twin kept with --keep is marked `kept` and left alone; a twin the CLI stopped itself has no
state file any more) and removes the twin's folders. Its own process: its children change user (setpriv), which
clears a parent-death signal, and their children never had one.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """preexec_fn: SIGTERM this process when the thread that started it ends."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


def main(state: Path, parent: int) -> int:
    from .supervisor import stop_recorded  # the one place that reads a state file and stops what it records

    ended = []
    signal.signal(signal.SIGTERM, lambda *_: ended.append(True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the CLI, which stops the twin itself
    while not ended and os.getppid() == parent:  # the parent may have died before prctl took effect
        time.sleep(1)  # a signal ends the sleep early
    stop_recorded(state, only_if_not_kept=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
