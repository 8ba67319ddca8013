"""Where a batch's tasks run: a LocalCluster, a running scheduler, a Client, or dask-jobqueue.

``scheduler`` (of ``generate_batch``) is one of:
- None: a ``distributed.LocalCluster`` on this machine, one single-threaded worker process per
  core (``workers`` to change it);
- ``"tcp://host:8786"``: a Dask scheduler that is already running (``dask scheduler`` plus
  ``dask worker`` processes anywhere that can read the data and write the batch folder);
- a ``distributed.Client`` (or a Dask cluster object) the caller made;
- a dict, or a YAML file, of dask-jobqueue options (``{"jobqueue": "slurm", "cores": 1,
  "memory": "4GB", "walltime": "02:00:00", "jobs": 10, ...}``): a SLURM/PBS/LSF/SGE/HTCondor
  cluster of batch jobs, each running Dask workers (see ``jobqueue_options``).
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from ..errors import ParameterError

JOBQUEUE_CLUSTERS = {
    "slurm": "SLURMCluster",
    "pbs": "PBSCluster",
    "lsf": "LSFCluster",
    "sge": "SGECluster",
    "htcondor": "HTCondorCluster",
    "oar": "OARCluster",
    "moab": "MoabCluster",
}
CONNECT_TIMEOUT_S = 10  # seconds to reach a running scheduler before giving up
JOBQUEUE_DEFAULTS = {"cores": 1, "memory": "4GB"}  # one single-threaded worker per job core


def jobqueue_options(options) -> tuple[str, int | None, dict]:
    """(cluster class name, jobs to start, keyword arguments) from a dict or a YAML file.

    ``options["jobqueue"]`` names the batch system (slurm, pbs, lsf, sge, htcondor, oar, moab);
    ``jobs`` (optional) is how many batch jobs to start; everything else goes to the
    dask-jobqueue cluster class (``cores``, ``memory``, ``walltime``, ``queue``, ``account``,
    ``job_extra_directives``, ``job_script_prologue``, ``python``, ``local_directory``, ...).
    Defaults: ``cores=1``, ``memory="4GB"``, and one single-threaded worker process per core
    (``processes=cores``). Raises ParameterError naming the problem.
    """
    if isinstance(options, (str, os.PathLike)):
        import yaml

        path = Path(options).expanduser()
        try:
            options = yaml.safe_load(path.read_text())
        except OSError as e:
            raise ParameterError(
                f"cannot read the dask-jobqueue options file {str(path)!r}: {e.strerror or e}"
            ) from None
        except yaml.YAMLError as e:
            raise ParameterError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(options, dict):
        raise ParameterError(
            "dask-jobqueue options must be a mapping, e.g. {'jobqueue': 'slurm', "
            f"'cores': 1, 'memory': '4GB'}}, got {type(options).__name__}"
        )
    opts = dict(options)
    kind = str(opts.pop("jobqueue", "")).lower()
    if kind not in JOBQUEUE_CLUSTERS:
        raise ParameterError(
            f"dask-jobqueue options need 'jobqueue': one of "
            f"{', '.join(JOBQUEUE_CLUSTERS)} (got {kind or 'nothing'!r})"
        )
    jobs = opts.pop("jobs", None)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ParameterError(f"'jobs' must be a whole number >= 1, got {jobs!r}")
    for key, value in JOBQUEUE_DEFAULTS.items():
        opts.setdefault(key, value)
    opts.setdefault("processes", opts["cores"])
    return JOBQUEUE_CLUSTERS[kind], jobs, opts


def _jobqueue_class(name: str):
    import dask_jobqueue

    return getattr(dask_jobqueue, name)


def job_script(options) -> str:
    """The batch-job script that dask-jobqueue would submit for these options (see
    ``jobqueue_options``), built without starting a Dask scheduler or touching the batch system;
    the scheduler address is a placeholder. For checking options before a real run."""
    name, _, kwargs = jobqueue_options(options)
    cls = _jobqueue_class(name)
    try:
        job = cls.job_cls("tcp://<scheduler-address>:8786", name="nnlife-worker", **kwargs)
    except (TypeError, ValueError) as e:
        raise ParameterError(f"dask-jobqueue {name} rejects these options: {e}") from None
    return job.job_script()


def jobqueue_cluster(options):
    """A dask-jobqueue cluster object from a dict or YAML file of options (``jobqueue_options``).

    Constructing it starts a Dask scheduler in this process but submits no batch job;
    ``cluster.job_script()`` shows the script, ``cluster.scale(jobs=n)`` submits jobs.
    Raises ParameterError when dask-jobqueue rejects the options.
    """
    name, _, kwargs = jobqueue_options(options)
    cls = _jobqueue_class(name)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ParameterError(f"dask-jobqueue {name} rejects these options: {e}") from None


def is_yaml(value) -> bool:
    """Whether ``value`` names a YAML file of dask-jobqueue options."""
    return isinstance(value, (str, os.PathLike)) and str(value).lower().endswith((".yaml", ".yml"))


class Connection:
    """A context manager yielding a distributed.Client for ``scheduler``; it closes only what it
    started itself (a Client the caller passed stays open)."""

    def __init__(self, scheduler, local_workers: int, jobs: int | None):
        self.scheduler, self.local_workers, self.jobs = scheduler, local_workers, jobs
        self.owned: list = []

    def __enter__(self):
        from distributed import Client, LocalCluster

        s = self.scheduler
        if s is None:
            # No dashboard (the progress bar is the UI; pass your own Client for one); the
            # scheduler's small HTTP server takes any free port rather than insisting on 8787.
            cluster = LocalCluster(
                n_workers=self.local_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                scheduler_kwargs={"dashboard_address": ":0"},
            )
            self.owned.append(cluster)
            client = Client(cluster)
        elif isinstance(s, Client):
            client = s
        elif isinstance(s, str) and "://" in s:
            try:
                client = Client(s, timeout=f"{CONNECT_TIMEOUT_S}s")
            except (OSError, TimeoutError) as e:
                raise ParameterError(f"cannot connect to the Dask scheduler {s} ({e})") from None
        elif isinstance(s, dict) or is_yaml(s):
            _, jobs, _ = jobqueue_options(s)
            cluster = jobqueue_cluster(s)
            self.owned.append(cluster)
            cluster.scale(jobs=jobs or self.jobs or 1)
            client = Client(cluster)
        elif hasattr(s, "scheduler_address"):  # a Dask cluster object the caller made
            client = Client(s)
        else:
            raise ParameterError(
                f"scheduler must be None (a local Dask cluster), an address like "
                "'tcp://host:8786', a distributed.Client, or a dict or YAML file of "
                f"dask-jobqueue options; got {s!r}"
            )
        if client is not s:
            self.owned.insert(0, client)
        return client

    def __exit__(self, *exc):
        for thing in self.owned:
            try:
                thing.close()
            except Exception:  # closing is best effort; the tables are already on disk
                pass
        return False


def check_scheduler(scheduler) -> None:
    """ParameterError unless ``scheduler`` is one of the kinds above (jobqueue options are checked)."""
    if scheduler is not None and not (
        isinstance(scheduler, (dict, str, os.PathLike))
        or hasattr(scheduler, "submit")
        or hasattr(scheduler, "scheduler_address")
    ):
        raise ParameterError(
            f"scheduler {scheduler!r} is not understood: use None, 'tcp://host:port', "
            "a distributed.Client, or a dict or YAML file of dask-jobqueue options"
        )
    if isinstance(scheduler, dict) or is_yaml(scheduler):
        jobqueue_options(scheduler)
    elif isinstance(scheduler, str) and "://" in scheduler:
        _probe(scheduler)


def _probe(address: str) -> None:
    """ParameterError unless something listens at a ``tcp://host:port`` address (a TCP connect
    with a short timeout: a wrong address fails in seconds, before anything is written)."""
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "tls") or not parts.hostname:
        return  # other transports (inproc, ucx, ws): Dask itself says what is wrong
    try:
        with socket.create_connection((parts.hostname, parts.port or 8786), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        raise ParameterError(
            f"no Dask scheduler answers at {address} ({e.strerror or e}); start one (dask scheduler) "
            "or check the address"
        ) from None


def runs_here(scheduler) -> bool:
    """Whether the workers of ``scheduler`` see this machine's files (a local or jobqueue cluster
    started from here, on a shared file system)."""
    return scheduler is None or isinstance(scheduler, dict) or is_yaml(scheduler)


def label(scheduler, n_workers) -> str:
    """A short description of ``scheduler`` for the manifest."""
    if scheduler is None:
        return f"LocalCluster({n_workers} workers)"
    if isinstance(scheduler, str):
        return scheduler
    if isinstance(scheduler, dict):
        return f"dask-jobqueue {scheduler.get('jobqueue')}"
    return type(scheduler).__name__


__all__ = [
    "JOBQUEUE_CLUSTERS",
    "JOBQUEUE_DEFAULTS",
    "Connection",
    "check_scheduler",
    "is_yaml",
    "job_script",
    "jobqueue_cluster",
    "jobqueue_options",
    "label",
    "runs_here",
]
