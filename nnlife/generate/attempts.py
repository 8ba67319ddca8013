"""Each lifespan's log: which worker started, finished, found or failed it, and when.

``<batch>/logs/<id>.log`` gets one line per event of a task of that lifespan, appended by the
worker that ran it (one ``write`` of a line opened with ``O_APPEND``, so lines of concurrent
attempts never interleave within a line):

    2026-12-02T00:31:07.513Z start host=node7 pid=4242 worker=tcp://10.0.0.7:40311 slurm_job=812
    2026-12-02T00:31:19.020Z finished host=node7 pid=4242 ... status=complete rows=4 elapsed_s=11.4 table=written

Events: ``start`` (training begins), ``finished`` (trained; ``table=written``, or ``kept`` when
another attempt's table was there first), ``found`` (the table was already finished: nothing
trained), ``failed`` (training raised). A worker killed mid-lifespan leaves a ``start`` with no
end. So the log says, independently of the tables and of Dask, how often each lifespan was
trained and where: a batch that trained nothing twice has one ``finished`` per lifespan.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

LOG_DIR = "logs"  # under the batch folder: one <id>.log per lifespan
JOB_VARIABLES = {
    "SLURM_JOB_ID": "slurm_job",
    "PBS_JOBID": "pbs_job",
    "LSB_JOBID": "lsf_job",
    "JOB_ID": "sge_job",
}  # the batch job a worker runs in, when it runs in one


def where() -> dict[str, str]:
    """This process as log fields: host, pid, the Dask worker's address (inside a worker) and
    the batch-system job it runs in (Slurm, PBS, LSF, SGE)."""
    fields = {"host": socket.gethostname(), "pid": str(os.getpid())}
    try:
        from distributed import get_worker

        fields["worker"] = get_worker().address
    except (ImportError, ValueError):  # not in a Dask worker
        pass
    for variable, key in JOB_VARIABLES.items():
        if os.environ.get(variable):
            fields[key] = os.environ[variable]
    return fields


def log_event(batch_dir, lifespan_id: str, event: str, place: dict[str, str], **fields) -> None:
    """Append ``<UTC time> <event> key=value ...`` to ``batch_dir/logs/<lifespan_id>.log``.

    Values are written with whitespace replaced by ``_`` so that every line splits on spaces.
    A log that cannot be written never stops the training: the error is swallowed.
    """
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    items = {**place, **{k: v for k, v in fields.items() if v is not None}}
    line = (
        " ".join([stamp, event, *(f"{k}={'_'.join(str(v).split()) or '_'}" for k, v in items.items())]) + "\n"
    )
    try:
        folder = Path(batch_dir) / LOG_DIR
        folder.mkdir(exist_ok=True)
        fd = os.open(folder / f"{lifespan_id}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError:
        pass


def read_log(batch_dir, lifespan_id: str) -> list[dict[str, str]]:
    """The events of one lifespan's log, oldest first: ``{"time", "event", **fields}`` each
    (an empty list when there is no log). A last line still being written is left out."""
    path = Path(batch_dir) / LOG_DIR / f"{lifespan_id}.log"
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines(keepends=True):
        parts = line.split()
        if not line.endswith("\n") or len(parts) < 2:
            continue
        events.append(
            {"time": parts[0], "event": parts[1], **dict(p.split("=", 1) for p in parts[2:] if "=" in p)}
        )
    return events


__all__ = ["LOG_DIR", "where", "log_event", "read_log"]
