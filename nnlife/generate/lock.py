"""One run per batch folder: an advisory lock held for the whole run of ``generate_batch``.

The lock is ``fcntl.flock`` on ``<batch folder>/.nnlife-batch.lock``. The kernel releases it when
the holder exits, however it exits (a SIGKILL included), so a killed run never leaves a stale
lock behind; the file itself stays (it holds the last holder's pid, host and start time, as JSON,
for the message of a run that finds the folder in use). On file systems where ``flock`` is not
shared between hosts (some NFS set-ups), two hosts are not kept apart: run one batch folder from
one host, or give each host its own folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ParameterError

LOCK_NAME = ".nnlife-batch.lock"


class BatchInUseError(ParameterError):
    """Another run holds the batch folder's lock: names its pid, host and start time."""


def _holder(f) -> str:
    try:
        f.seek(0)
        info = json.loads(f.read() or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another process (it did not say which)"
    return f"pid {info.get('pid')} on host {info.get('host')} (started {info.get('started')})"


class BatchLock:
    """``with BatchLock(folder, wait=False):`` holds the folder's lock for the block.

    wait=False: raise BatchInUseError at once, naming the holder, when another run holds it;
    wait=True: block until it is free (``on_wait`` is called once with the holder's description).
    """

    def __init__(self, folder, wait: bool = False, on_wait=None):
        self.path = Path(folder) / LOCK_NAME
        self.wait, self.on_wait = wait, on_wait
        self.file = None

    def __enter__(self) -> BatchLock:
        f = open(self.path, "a+")  # "a+": never truncates what the holder wrote
        try:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(f)
                if not self.wait:
                    raise BatchInUseError(
                        f"{self.path.parent} is in use by another nnlife generate: {holder}; wait for it "
                        "to finish (or pass --wait / wait=True), or stop it and run again"
                    ) from None
                if self.on_wait is not None:
                    self.on_wait(holder)
                fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            f.truncate()
            json.dump(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "time": time.time(),
                },
                f,
            )
            f.flush()
        except BaseException:
            f.close()
            raise
        self.file = f
        return self

    def __exit__(self, *exc) -> bool:
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None
        return False


__all__ = ["BatchLock", "BatchInUseError", "LOCK_NAME"]
