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

Workers' malloc (issue 16): Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``). Setting any of glibc's malloc thresholds switches off
its adaptive mmap threshold, so every buffer above 128 KiB (activations, gradients) is mapped and
unmapped again at every training step and page-faults on first touch: a third of a worker's CPU
time went to the kernel. The workers nnlife starts (LocalCluster, dask-jobqueue jobs) get
``MALLOC_ENV`` instead: buffers up to 32 MiB (glibc's largest mmap threshold) come from the heap
and stay there, and the heap is trimmed only past 128 MiB free. Users who start their own
``dask worker`` processes export the same variables first (see the README).
"""

from __future__ import annotations

import logging
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from ..errors import ParameterError

# glibc malloc settings of every worker nnlife starts (see the module docstring; measured in
# bench/malloc.py: the same batch 1.3x faster, the workers' system time down by about 5x)
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "134217728"}

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


@contextmanager
def malloc_environment(env: dict[str, str] = MALLOC_ENV):
    """Dask nannies started inside the block start their workers with ``env``.

    The variables go into ``distributed.nanny.pre-spawn-environ`` (the only environment a nanny
    sets before it starts the worker's process, where glibc reads them) and, for the block, into
    ``os.environ``: the nanny lets os.environ override its config, and an earlier nanny in this
    process may have left Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` there. os.environ is restored
    on exit."""
    import dask

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in env.items()}):
            yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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


def _with_malloc(kwargs: dict) -> dict:
    """dask-jobqueue keyword arguments whose job script exports ``MALLOC_ENV`` before the
    user's own ``job_script_prologue`` lines (which may override it)."""
    prologue = [f"export {k}={v}" for k, v in MALLOC_ENV.items()]
    return {**kwargs, "job_script_prologue": prologue + list(kwargs.get("job_script_prologue") or [])}


def _jobqueue_class(name: str):
    import dask_jobqueue

    return getattr(dask_jobqueue, name)


# dask-jobqueue options of the cluster (its scheduler), not of the job: job_script leaves them out
CLUSTER_ONLY = (
    "n_workers",
    "loop",
    "shared_temp_directory",
    "silence_logs",
    "name",
    "asynchronous",
    "dashboard_address",
    "host",
    "scheduler_options",
    "scheduler_cls",
)
# One task at a time per worker thread, the rest queued at the scheduler in priority order, so
# that a worker that frees up takes the largest task left (Dask's default, 1.1, gives each
# single-threaded worker a second task to wait behind its first).
WORKER_SATURATION = 1.0


def job_script(options) -> str:
    """The batch-job script that dask-jobqueue would submit for these options (see
    ``jobqueue_options``), built without starting a Dask scheduler or touching the batch system;
    the scheduler address is a placeholder. For checking options before a real run."""
    name, _, kwargs = jobqueue_options(options)
    kwargs = {k: v for k, v in kwargs.items() if k not in CLUSTER_ONLY}
    cls = _jobqueue_class(name)
    try:
        job = cls.job_cls("tcp://<scheduler-address>:8786", name="nnlife-worker", **_with_malloc(kwargs))
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
        return cls(**_with_malloc(kwargs))
    except (TypeError, ValueError) as e:
        raise ParameterError(f"dask-jobqueue {name} rejects these options: {e}") from None


def is_yaml(value) -> bool:
    """Whether ``value`` names a YAML file of dask-jobqueue options."""
    return isinstance(value, (str, os.PathLike)) and str(value).lower().endswith((".yaml", ".yml"))


class Connection:
    """A context manager yielding a distributed.Client for ``scheduler``; it closes only what it
    started itself (a Client the caller passed stays open)."""

    def __init__(self, scheduler, local_workers: int, jobs: int | None, gpu_slots=None):
        self.scheduler, self.local_workers, self.jobs = scheduler, local_workers, jobs
        self.gpu_slots = gpu_slots  # nnlife.generate.gpus.WorkerSlot list: a local GPU cluster
        self.owned: list = []

    def __enter__(self):
        import dask
        import distributed  # noqa: F401  (its defaults must be in dask.config before the set below:
        # a key set while "distributed" is absent is removed, with everything under it, on exit)

        with dask.config.set({"distributed.scheduler.worker-saturation": WORKER_SATURATION}):
            return self._connect()

    def _connect(self):
        from distributed import Client, LocalCluster

        s = self.scheduler
        if s is None and self.gpu_slots:
            from .gpus import gpu_cluster

            cluster = gpu_cluster(self.gpu_slots)
            self.owned.append(cluster)
            client = Client(cluster)
        elif s is None:
            # No dashboard (the progress bar is the UI; pass your own Client for one); the
            # scheduler's small HTTP server takes any free port rather than insisting on 8787.
            with malloc_environment():
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
    "MALLOC_ENV",
    "malloc_environment",
    "Connection",
    "check_scheduler",
    "is_yaml",
    "job_script",
    "jobqueue_cluster",
    "jobqueue_options",
    "label",
    "runs_here",
]
