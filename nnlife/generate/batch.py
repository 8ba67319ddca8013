"""Many lifespans on Dask: ``generate_batch`` and the ``nnlife generate`` command.

A batch folder holds ``manifest.json`` (every parameter, versions, host, start and end of each
run) and one table per lifespan, ``<id>.txt`` with id ``<net id>-s<seed>``. One lifespan is one
Dask task; the task loads the dataset in its worker (once per process, ``nnlife.load_dataset``
caches it), trains, and writes its own table atomically (``nnlife.write_lifespan``: a temporary
file, then a rename), so a batch that is killed at any moment loses no finished table.

Starting the same batch again trains only what is missing or broken: a table that cannot be read
(truncated, empty, ...) or that does not match the planned network is moved aside to
``<id>.txt.broken-<UTC time>`` (nothing written is ever deleted) and trained again. With
``checkpoint_every`` a lifespan that was interrupted resumes from its last checkpoint
(``checkpoints/<id>.pt``) instead of starting over.

Where the tasks run (``scheduler``):
- None: a ``distributed.LocalCluster`` on this machine, one single-threaded worker process per
  core (``workers`` to change it); torch gets ``cores // workers`` threads in each;
- ``"tcp://host:8786"``: a Dask scheduler that is already running (``dask scheduler`` plus
  ``dask worker`` processes anywhere that can read the data and write ``out_dir``);
- a ``distributed.Client`` (or a Dask cluster object) the caller made;
- a dict, or a YAML file, of dask-jobqueue options (``{"jobqueue": "slurm", "cores": 1,
  "memory": "4GB", "walltime": "02:00:00", "jobs": 10, ...}``): a SLURM/PBS/LSF/SGE/HTCondor
  cluster of batch jobs, each running Dask workers (see ``jobqueue_cluster``).

Network i of a batch is ``nnlife.sample(space, dataset, seed=numpy.random.default_rng([seed,
i]))``; its first training seed is the one sampled, further seeds (``seeds_per_network``) are
drawn from ``default_rng([seed, i, j])``.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from . import __version__
from .errors import NnlifeError, ParameterError, SpecError, TableError

MANIFEST = "manifest.json"
CHECKPOINT_DIR = "checkpoints"     # under out_dir: one <id>.pt per unfinished lifespan
WEIGHTS_SUFFIX = ".weights.pt"     # final weights beside the table: <id>.weights.pt
BATCHES_DIR = Path("data") / "batches"
# Parameters that define a batch: a second run into the same folder must repeat them.
BATCH_PARAMETERS = ("dataset", "n_networks", "space", "seed", "epochs", "seeds_per_network",
                    "train_size", "val_size", "eval_interval", "subset_seed", "val_source",
                    "deterministic")
JOBQUEUE_CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "lsf": "LSFCluster",
                     "sge": "SGECluster", "htcondor": "HTCondorCluster", "oar": "OARCluster",
                     "moab": "MoabCluster"}
JOBQUEUE_DEFAULTS = {"cores": 1, "memory": "4GB"}   # one single-threaded worker per job core


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def batch_dir(name: str) -> Path:
    """``data/batches/<name>``: under the nnlife checkout when nnlife runs from one (so a notebook
    running in ``notebooks/`` and ``make demo`` in the checkout use the same folder), else under
    the current directory."""
    repo = Path(__file__).resolve().parents[1]
    base = repo if (repo / "pyproject.toml").is_file() else Path.cwd()
    return base / BATCHES_DIR / name


# ==============================================================================================
# The plan: which lifespans a batch holds (pure Python, no torch)
# ==============================================================================================
@dataclass(frozen=True)
class LifespanJob:
    """One lifespan of a batch: what to train and where its table goes."""

    id: str                # table id, "<net id>-s<seed>"
    network_index: int     # i: the network is sampled from default_rng([batch seed, i])
    seed_index: int        # j: which of the network's training seeds (0 = the sampled one)
    net: dict              # NetSpec.to_dict()
    train: dict            # TrainSpec.to_dict()
    path: str              # the table, <out_dir>/<id>.txt
    meta: dict             # extra provenance for the table (batch seed, indices)


def plan_batch(out_dir, dataset: str, n_networks: int, space="small", seed: int = 0, epochs: float = 40,
               seeds_per_network: int = 1, train_size: int | None = None, val_size: int | None = None,
               eval_interval: float = 0.5, subset_seed: int = 0, val_source: str = "test",
               deterministic: bool = True) -> list[LifespanJob]:
    """The lifespans of a batch, in order (network i, seed j), without training anything.

    Raises ParameterError for an unknown space or dataset or a training spec that cannot work
    (e.g. epochs <= 0, an eval_interval that does not split an epoch).
    """
    from .space import sample

    out_dir = Path(out_dir)
    jobs, seen = [], {}
    for i in range(n_networks):
        try:
            net, train = sample(space, dataset, seed=np.random.default_rng([seed, i]), epochs=epochs,
                                eval_interval=eval_interval, train_size=train_size, val_size=val_size,
                                subset_seed=subset_seed, val_source=val_source,
                                deterministic=deterministic)
        except SpecError as e:
            raise ParameterError(f"bad training parameters: {e}") from None
        for j in range(seeds_per_network):
            s = train.seed if j == 0 else int(np.random.default_rng([seed, i, j]).integers(0, 2**32))
            t = train.replace(seed=s)
            job_id = f"{net.id}-s{s}"
            if job_id in seen:  # the same network drawn twice with the same seed: one table
                continue
            seen[job_id] = True
            jobs.append(LifespanJob(id=job_id, network_index=i, seed_index=j, net=net.to_dict(),
                                    train=t.to_dict(), path=str(out_dir / f"{job_id}.txt"),
                                    meta={"batch_seed": str(seed), "network_index": str(i),
                                          "seed_index": str(j)}))
    return jobs


def _check_parameters(out_dir, dataset, n_networks, space, seed, epochs, seeds_per_network, train_size,
                      val_size, eval_interval, subset_seed, val_source, workers) -> tuple[str, Path]:
    """Validate what can be checked without the data; return (canonical dataset, out_dir)."""
    from .data import DATASETS, DEFAULT_HOLDOUT, canonical_name
    from .space import get_space

    name = canonical_name(dataset)          # ParameterError for an unknown dataset
    get_space(space)                        # ParameterError for an unknown space

    def whole(value, what, low, none_ok=False):
        if value is None and none_ok:
            return
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ParameterError(f"{what} must be a whole number >= {low}"
                                 f"{' or None' if none_ok else ''}, got {value!r}")

    whole(n_networks, "n_networks", 1)
    whole(seeds_per_network, "seeds_per_network", 1)
    whole(seed, "seed", 0)
    whole(subset_seed, "subset_seed", 0)
    whole(train_size, "train_size", 1, none_ok=True)
    whole(val_size, "val_size", 1, none_ok=True)
    whole(workers, "workers", 1, none_ok=True)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, float)) or not epochs > 0:
        raise ParameterError(f"epochs must be a number > 0, got {epochs!r}")
    if isinstance(eval_interval, bool) or not isinstance(eval_interval, (int, float)) or not 0 < eval_interval <= 1:
        raise ParameterError(f"eval_interval must be in (0, 1] epochs, got {eval_interval!r}")
    per_epoch = 1 / eval_interval
    if abs(per_epoch - round(per_epoch)) > 1e-9:
        raise ParameterError(f"eval_interval {eval_interval} does not split an epoch evenly; use 1/k "
                             "of an epoch, e.g. 0.5 or 0.25")
    if val_source not in ("test", "train"):
        raise ParameterError(f"val_source must be 'test' or 'train', got {val_source!r}")
    info = DATASETS[name]
    n_train, n_val = info.n_train, info.n_test
    if val_source == "train":
        n_val = val_size if val_size is not None else min(DEFAULT_HOLDOUT, info.n_train // 6)
        n_train = info.n_train - n_val
    if train_size is not None and train_size > n_train:
        raise ParameterError(f"train_size={train_size} is more than the {n_train} training images "
                             f"{name} has here")
    if val_size is not None and val_size > (info.n_test if val_source == "test" else info.n_train - 1):
        raise ParameterError(f"val_size={val_size} is more than the validation images {name} has")

    out = Path(out_dir).expanduser().absolute()   # absolute: workers may run elsewhere
    try:  # can we write there? (a probe file, removed at once)
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".nnlife-write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ParameterError(f"out_dir {str(out_dir)!r} cannot be written ({e.strerror or e}); "
                             "choose a folder you can write to") from None
    return name, out


def _n_train(name: str, train_size, val_size, val_source: str) -> int:
    """Training images a lifespan of the batch sees per epoch."""
    from .data import DATASETS, DEFAULT_HOLDOUT

    if train_size is not None:
        return train_size
    n = DATASETS[name].n_train
    if val_source == "train":
        n -= val_size if val_size is not None else min(DEFAULT_HOLDOUT, n // 6)
    return n


def _check_fits(jobs: list[LifespanJob], n_train: int) -> None:
    """Every network's batch size must leave each evaluation interval at least one batch."""
    from .train import interval_bounds

    for job in jobs:
        try:
            interval_bounds(n_train, job.train["batch_size"], job.train["eval_interval"])
        except ParameterError as e:
            raise ParameterError(f"network {job.network_index} ({job.id}): {e}") from None


# ==============================================================================================
# Finished, missing, broken
# ==============================================================================================
def _finished(job: LifespanJob):
    """The table of ``job`` when it exists, reads back and is the planned lifespan; else None.

    A table that exists but cannot be read, or holds another network or training, is moved
    aside to ``<name>.broken-<UTC time>`` so it is trained again and nothing is lost.
    """
    from .spec import NetSpec, TrainSpec
    from .table import read_lifespan

    path = Path(job.path)
    if not path.exists():
        return None
    try:
        life = read_lifespan(path)
        planned_train = TrainSpec.from_dict(job.train)
        if (life.net.canonical() != NetSpec.from_dict(job.net).canonical()
                or life.train.replace(device="cpu") != planned_train.replace(device="cpu")):
            raise TableError(f"{path}: holds another network or training than planned")
    except TableError:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        path.rename(path.with_name(f"{path.name}.broken-{stamp}"))
        return None
    return life


def _summary(job: LifespanJob, life, trained: bool) -> dict:
    curve = life.curve
    return {"id": job.id, "network_index": job.network_index, "seed_index": job.seed_index,
            "seed": job.train["seed"], "net_id": life.net.id, "path": job.path,
            "status": life.status, "rows": len(curve),
            "final_val_acc": float(curve["val_acc"].iloc[-1]) if len(curve) else float("nan"),
            "elapsed_s": float(curve["elapsed_s"].iloc[-1]) if len(curve) else float("nan"),
            "trained": trained, "error": ""}


# ==============================================================================================
# One task (runs in a Dask worker)
# ==============================================================================================
@dataclass(frozen=True)
class TaskOptions:
    """How every task of one run trains (the same for all lifespans of the run)."""

    device: str = "auto"                  # "auto", "cpu", "cuda", "cuda:N"
    torch_threads: int | None = None      # torch.set_num_threads in the worker; None: leave it
    save_weights: bool = False            # write <id>.weights.pt beside the table
    checkpoint_every: float | None = None  # epochs between checkpoints; None: none
    data_root: str | None = None          # first folder to look for the dataset in


def run_job(job: LifespanJob, opts: TaskOptions) -> dict:
    """Train one lifespan of a batch and write its table atomically; return its summary dict.

    A table already there and sound (a task that ran twice) is kept and not trained again.
    """
    import torch

    from .data import load_dataset
    from .spec import NetSpec, TrainSpec
    from .table import write_lifespan
    from .train import train_lifespan

    if opts.torch_threads:
        torch.set_num_threads(opts.torch_threads)
    life = _finished(job)
    if life is not None:
        return _summary(job, life, trained=False)
    net, train = NetSpec.from_dict(job.net), TrainSpec.from_dict(job.train)
    data = load_dataset(train.dataset, root=opts.data_root, train_size=train.train_size,
                        val_size=train.val_size, seed=train.subset_seed, val_source=train.val_source)
    path = Path(job.path)
    checkpoint = path.parent / CHECKPOINT_DIR / f"{job.id}.pt"
    life = train_lifespan(net, train, data, device=opts.device, id=job.id, meta=job.meta,
                          weights=path.with_name(job.id + WEIGHTS_SUFFIX) if opts.save_weights else None,
                          checkpoint=checkpoint if opts.checkpoint_every else None,
                          checkpoint_every=opts.checkpoint_every)
    try:
        write_lifespan(life, path)
    except FileExistsError:  # another run of this task finished first: keep its table
        pass
    if checkpoint.exists():
        checkpoint.unlink()
    return _summary(job, life, trained=True)


# ==============================================================================================
# Where the tasks run: LocalCluster, a scheduler address, a Client, or dask-jobqueue
# ==============================================================================================
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
            raise ParameterError(f"cannot read the dask-jobqueue options file {str(path)!r}: "
                                 f"{e.strerror or e}") from None
        except yaml.YAMLError as e:
            raise ParameterError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(options, dict):
        raise ParameterError("dask-jobqueue options must be a mapping, e.g. {'jobqueue': 'slurm', "
                             f"'cores': 1, 'memory': '4GB'}}, got {type(options).__name__}")
    opts = dict(options)
    kind = str(opts.pop("jobqueue", "")).lower()
    if kind not in JOBQUEUE_CLUSTERS:
        raise ParameterError(f"dask-jobqueue options need 'jobqueue': one of "
                             f"{', '.join(JOBQUEUE_CLUSTERS)} (got {kind or 'nothing'!r})")
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


def _is_yaml(value) -> bool:
    return isinstance(value, (str, os.PathLike)) and str(value).lower().endswith((".yaml", ".yml"))


class _Connection:
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
            cluster = LocalCluster(n_workers=self.local_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR,
                                   scheduler_kwargs={"dashboard_address": ":0"})
            self.owned.append(cluster)
            client = Client(cluster)
        elif isinstance(s, Client):
            client = s
        elif isinstance(s, str) and "://" in s:
            client = Client(s)
        elif isinstance(s, dict) or _is_yaml(s):
            _, jobs, _ = jobqueue_options(s)
            cluster = jobqueue_cluster(s)
            self.owned.append(cluster)
            cluster.scale(jobs=jobs or self.jobs or 1)
            client = Client(cluster)
        elif hasattr(s, "scheduler_address"):   # a Dask cluster object the caller made
            client = Client(s)
        else:
            raise ParameterError(f"scheduler must be None (a local Dask cluster), an address like "
                                 "'tcp://host:8786', a distributed.Client, or a dict or YAML file of "
                                 f"dask-jobqueue options; got {s!r}")
        if client is not s:
            self.owned.insert(0, client)
        return client

    def __exit__(self, *exc):
        for thing in self.owned:
            try:
                thing.close()
            except Exception:   # closing is best effort; the tables are already on disk
                pass
        return False


# ==============================================================================================
# The manifest
# ==============================================================================================
def _write_json(path: Path, obj) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)   # mkstemp makes 0600; a manifest is for others to read too
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _open_manifest(out: Path, parameters: dict) -> dict:
    """The manifest to extend: the folder's own when its parameters match, else a new one.

    Raises ParameterError when the folder holds a batch made with other parameters, or a
    manifest that cannot be read (it is never replaced then).
    """
    path = out / MANIFEST
    if not path.exists():
        return {"nnlife_batch": 1, "parameters": parameters, "started": None, "finished": None,
                "runs": [], "lifespans": []}
    try:
        manifest = json.loads(path.read_text())
        old = manifest["parameters"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ParameterError(f"{path} cannot be read as a batch manifest; move it away (the tables "
                             "beside it are kept and checked) or use another out_dir") from None
    differ = [f"{k} {old.get(k)!r} (folder) vs {parameters[k]!r} (now)"
              for k in BATCH_PARAMETERS if old.get(k) != parameters[k]]
    if differ:
        raise ParameterError(f"{out} already holds a batch made with other parameters: "
                             + "; ".join(differ) + ". Use the same parameters to complete it, or "
                             "another out_dir for a new batch")
    return manifest


# ==============================================================================================
# generate_batch
# ==============================================================================================
def generate_batch(out_dir, dataset: str, n_networks: int, space="small", seed: int = 0,
                   epochs: float = 40, seeds_per_network: int = 1, train_size: int | None = None,
                   val_size: int | None = None, scheduler=None, workers: int | None = None,
                   device: str = "auto", *, eval_interval: float = 0.5, subset_seed: int = 0,
                   val_source: str = "test", deterministic: bool = True, save_weights: bool = False,
                   checkpoint_every: float | None = None, data_root=None, progress=True):
    """Train a batch of lifespans on Dask, one table per lifespan in ``out_dir``.

    out_dir: the batch folder (created); a name that says what made it, e.g.
        ``data/batches/fashionmnist-small-seed0``. Tables already there are kept; only missing
        or broken ones are trained (see the module docstring).
    dataset, space: "FashionMNIST"/"CIFAR100"/"SVHN"; "small"/"paper" or a SearchSpace.
    n_networks, seed: networks 0..n_networks-1, network i sampled from (seed, i).
    epochs, eval_interval: training length and record period in epochs (40 and 0.5: 80 rows).
    seeds_per_network: training seeds per network (k tables per network).
    train_size, val_size, subset_seed, val_source: the data subsets (see ``load_dataset``).
    scheduler, workers: where to run (see the module docstring); ``workers`` is the number of
        LocalCluster worker processes (default: one per core) or of dask-jobqueue jobs when the
        options give no ``jobs``; ignored for a running scheduler.
    device: "auto", "cpu", "cuda", "cuda:N", resolved in each worker.
    deterministic: torch's deterministic algorithms (``TrainSpec.deterministic``); on by default so
        that ``nnlife.reproduce`` replays a table exactly.
    save_weights: also write each network's final weights, ``<id>.weights.pt``.
    checkpoint_every: epochs between checkpoints of unfinished lifespans (None: none).
    data_root: a folder to look for the dataset in first (in each worker).
    progress: True for a tqdm bar (notebook-aware), False for none, or a callable
        ``(done, total, summary dict)``.

    Returns a DataFrame, one row per lifespan of the batch (trained now or before), sorted by
    network and seed: id, network_index, seed_index, seed, net_id, path, status ("complete",
    "diverged", "failed"), rows, final_val_acc (%), elapsed_s (training seconds), trained (in
    this call), error. Raises ParameterError (or DatasetNotFoundError) for bad parameters before
    any training starts, and NnlifeError after the run when some lifespans failed (their tables
    are missing; the others are written, and a second call retries the failed ones).
    """
    import pandas as pd

    from .data import locate_dataset
    from .space import get_space

    # --- check everything before any training ---------------------------------------------------
    name, out = _check_parameters(out_dir, dataset, n_networks, space, seed, epochs, seeds_per_network,
                                  train_size, val_size, eval_interval, subset_seed, val_source, workers)
    if checkpoint_every is not None and (isinstance(checkpoint_every, bool)
                                         or not isinstance(checkpoint_every, (int, float))
                                         or checkpoint_every <= 0):
        raise ParameterError(f"checkpoint_every must be a number of epochs > 0 or None, got {checkpoint_every!r}")
    if scheduler is None:
        from .train import resolve_device

        resolve_device(device)   # a GPU asked for on a machine without one fails here
    elif not (isinstance(scheduler, (dict, str, os.PathLike)) or hasattr(scheduler, "submit")
              or hasattr(scheduler, "scheduler_address")):
        raise ParameterError(f"scheduler {scheduler!r} is not understood: use None, 'tcp://host:port', "
                             "a distributed.Client, or a dict or YAML file of dask-jobqueue options")
    if isinstance(scheduler, (dict,)) or _is_yaml(scheduler):
        jobqueue_options(scheduler)   # bad options fail here
    if scheduler is None or isinstance(scheduler, dict) or _is_yaml(scheduler):
        locate_dataset(name, root=data_root)   # the data must be here (a shared file system)
    space_name = get_space(space).name
    jobs = plan_batch(out, name, n_networks, space, seed, epochs, seeds_per_network, train_size,
                      val_size, eval_interval, subset_seed, val_source, deterministic)
    _check_fits(jobs, _n_train(name, train_size, val_size, val_source))
    def opt_int(v):
        return None if v is None else int(v)

    parameters = {"dataset": name, "n_networks": int(n_networks), "space": space_name, "seed": int(seed),
                  "epochs": epochs, "seeds_per_network": int(seeds_per_network),
                  "train_size": opt_int(train_size), "val_size": opt_int(val_size),
                  "eval_interval": eval_interval, "subset_seed": int(subset_seed),
                  "val_source": val_source, "deterministic": bool(deterministic)}
    manifest = _open_manifest(out, parameters)

    # --- what is finished, what is left -----------------------------------------------------------
    done: dict[str, dict] = {}
    for job in jobs:
        life = _finished(job)
        if life is not None:
            done[job.id] = _summary(job, life, trained=False)
    todo = [job for job in jobs if job.id not in done]

    cores = os.cpu_count() or 1
    n_workers = workers or cores
    local = scheduler is None
    run = {"started": _now(), "finished": None, "host": socket.gethostname(),
           "nnlife_version": __version__, "torch_version": _version("torch"),
           "python": sys.version.split()[0], "device": device, "workers": workers,
           "save_weights": save_weights, "checkpoint_every": checkpoint_every,
           "to_train": len(todo), "trained": 0, "failed": 0}
    manifest.update({"nnlife_version": __version__, "torch_version": _version("torch"),
                     "host": run["host"], "started": manifest.get("started") or run["started"],
                     "finished": None, "lifespans": [
                         {"id": j.id, "network_index": j.network_index, "seed_index": j.seed_index,
                          "seed": j.train["seed"], "net_id": j.id.rsplit("-s", 1)[0]} for j in jobs]})
    manifest["runs"].append(run)
    _write_json(out / MANIFEST, manifest)

    # --- train what is left, one Dask task per lifespan -------------------------------------------
    results: list[dict] = []
    bar = _progress_bar(progress, len(jobs), len(done), out.name)
    try:
        if todo:
            from distributed import as_completed

            opts = TaskOptions(device=device, torch_threads=max(1, cores // n_workers) if local else None,
                               save_weights=save_weights, checkpoint_every=checkpoint_every,
                               data_root=None if data_root is None else str(data_root))
            run["scheduler"] = _label(scheduler, n_workers)
            with _Connection(scheduler, n_workers, workers) as client:
                futures = {client.submit(run_job, job, opts, retries=2, pure=False): job for job in todo}
                for fut in as_completed(futures):
                    job = futures[fut]
                    try:
                        summary = fut.result()
                    except Exception as e:   # noqa: BLE001 - reported below, never silent
                        summary = {"id": job.id, "network_index": job.network_index,
                                   "seed_index": job.seed_index, "seed": job.train["seed"],
                                   "net_id": job.id.rsplit("-s", 1)[0], "path": job.path,
                                   "status": "failed", "rows": 0, "final_val_acc": float("nan"),
                                   "elapsed_s": float("nan"), "trained": False,
                                   "error": f"{type(e).__name__}: {e}"}
                    results.append(summary)
                    bar(summary)
    finally:
        run["finished"] = _now()
        run["trained"] = sum(1 for r in results if r["trained"])
        run["failed"] = sum(1 for r in results if r["status"] == "failed")
        if len(done) + sum(1 for r in results if r["status"] != "failed") == len(jobs):
            manifest["finished"] = run["finished"]   # the batch is complete
        _write_json(out / MANIFEST, manifest)
        bar(None)

    frame = pd.DataFrame(list(done.values()) + results)
    frame = frame.sort_values(["network_index", "seed_index"], kind="stable").reset_index(drop=True)
    failed = frame[frame["status"] == "failed"]
    if len(failed):
        first = failed.iloc[0]
        raise NnlifeError(f"{len(failed)} of {len(frame)} lifespans failed in {out} (first: {first['id']}: "
                          f"{first['error']}); the other tables are written. Run the same batch again "
                          "to retry the failed ones")
    return frame


def _label(scheduler, n_workers) -> str:
    if scheduler is None:
        return f"LocalCluster({n_workers} workers)"
    if isinstance(scheduler, str):
        return scheduler
    if isinstance(scheduler, dict):
        return f"dask-jobqueue {scheduler.get('jobqueue')}"
    return type(scheduler).__name__


def _progress_bar(progress, total: int, initial: int, label: str):
    """A function to call with each finished lifespan's summary (None to close the bar)."""
    if callable(progress):
        state = {"done": initial}

        def call(summary):
            if summary is not None:
                state["done"] += 1
                progress(state["done"], total, summary)
        return call
    if not progress:
        return lambda summary: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=initial, unit="lifespan", desc=label, smoothing=0.1)
    counts = {"diverged": 0, "failed": 0}

    def update(summary):
        if summary is None:
            bar.close()
            return
        if summary["status"] in counts:
            counts[summary["status"]] += 1
            bar.set_postfix(counts, refresh=False)
        bar.update(1)
    return update


# ==============================================================================================
# A figure of the batch's curves
# ==============================================================================================
def plot_batch(out_dir, max_curves: int = 200):
    """One figure, two panels: validation accuracy (%) and training loss against epoch for the
    tables in ``out_dir`` (at most ``max_curves``; diverged ones dashed). Returns the Figure."""
    import matplotlib.pyplot as plt

    from .table import read_lifespan

    paths = sorted(Path(out_dir).glob("*.txt"))[:max_curves]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    for path in paths:
        try:
            life = read_lifespan(path)
        except TableError:
            continue
        style = "--" if life.diverged else "-"
        c = life.curve
        ax_acc.plot(c["epoch"], c["val_acc"], style, lw=1.2, alpha=0.8, label=life.id)
        ax_loss.plot(c["epoch"], c["train_loss"], style, lw=1.2, alpha=0.8)
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy, nats)", title="training loss")
    if 0 < len(paths) <= 12:
        ax_acc.legend(fontsize=7, loc="best")
    fig.suptitle(f"{Path(out_dir).name}: {len(paths)} lifespans")
    fig.tight_layout()
    return fig


# ==============================================================================================
# nnlife generate
# ==============================================================================================
def add_cli(subparsers) -> None:
    """Add ``nnlife generate`` (calls ``generate_batch``)."""
    p = subparsers.add_parser(
        "generate", help="train a batch of random networks on Dask, one lifespan table each",
        description="Train a batch of random CNNs and write one lifespan table per network into "
                    "OUT_DIR (plus manifest.json). Running it again trains only missing or broken "
                    "tables.")
    p.add_argument("out_dir", metavar="OUT_DIR", help="batch folder, e.g. data/batches/fmnist-small-seed0")
    p.add_argument("--dataset", default="FashionMNIST", help="FashionMNIST, CIFAR100 or SVHN (default %(default)s)")
    p.add_argument("--networks", type=int, required=True, help="number of networks in the batch")
    p.add_argument("--space", default="small", help="search space: small or paper (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="batch seed (default %(default)s)")
    p.add_argument("--epochs", type=float, default=40, help="epochs per lifespan (default %(default)s)")
    p.add_argument("--eval-interval", type=float, default=0.5, help="epochs between records (default %(default)s)")
    p.add_argument("--seeds-per-network", type=int, default=1, help="training seeds per network (default %(default)s)")
    p.add_argument("--train-size", type=int, default=None, help="training images (stratified subset; default all)")
    p.add_argument("--val-size", type=int, default=None, help="validation images (default all)")
    p.add_argument("--subset-seed", type=int, default=0, help="seed of the subsets (default %(default)s)")
    p.add_argument("--val-source", choices=("test", "train"), default="test",
                   help="validate on the official test split or a holdout of train (default %(default)s)")
    p.add_argument("--scheduler", default=None,
                   help="tcp://host:port of a running Dask scheduler, or a YAML file of dask-jobqueue "
                        "options (default: a local cluster)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: one per core), or dask-jobqueue jobs")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default %(default)s)")
    p.add_argument("--not-deterministic", action="store_true",
                   help="do not switch on torch's deterministic algorithms")
    p.add_argument("--save-weights", action="store_true", help="also write <id>.weights.pt per table")
    p.add_argument("--checkpoint-every", type=float, default=None,
                   help="epochs between checkpoints, so interrupted lifespans resume")
    p.add_argument("--data-root", default=None, help="folder to look for the dataset in first")
    p.add_argument("--job-script", action="store_true",
                   help="print the batch-job script for the --scheduler YAML and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    if args.job_script:
        if not args.scheduler:
            raise ParameterError("--job-script needs --scheduler FILE.yaml (dask-jobqueue options)")
        print(job_script(args.scheduler))
        return 0
    epochs = int(args.epochs) if float(args.epochs).is_integer() else args.epochs
    frame = generate_batch(args.out_dir, args.dataset, args.networks, space=args.space, seed=args.seed,
                           epochs=epochs, seeds_per_network=args.seeds_per_network,
                           train_size=args.train_size, val_size=args.val_size,
                           scheduler=args.scheduler, workers=args.workers, device=args.device,
                           eval_interval=args.eval_interval, subset_seed=args.subset_seed,
                           val_source=args.val_source, deterministic=not args.not_deterministic,
                           save_weights=args.save_weights, checkpoint_every=args.checkpoint_every,
                           data_root=args.data_root, progress=not args.quiet)
    counts = frame["status"].value_counts().to_dict()
    print(f"{len(frame)} lifespans in {args.out_dir}: {int(frame['trained'].sum())} trained now, "
          + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 0


__all__ = ["generate_batch", "plan_batch", "LifespanJob", "TaskOptions", "run_job", "jobqueue_options",
           "jobqueue_cluster", "job_script", "batch_dir", "plot_batch", "add_cli", "MANIFEST"]
