"""``nnlife generate OUT_DIR --networks N ...``: a batch of lifespans (``generate_batch``)."""

from __future__ import annotations

from ..datasets import NAMES
from ..errors import ParameterError
from ..space import SPACES


def add_cli(subparsers) -> None:
    """Add ``nnlife generate`` (calls ``generate_batch``)."""
    p = subparsers.add_parser(
        "generate",
        help="train a batch of random networks on Dask, one lifespan table each",
        description="Train a batch of random CNNs and write one lifespan table per network into "
        "OUT_DIR (plus manifest.json). Running it again trains only missing or broken "
        "tables.",
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="batch folder, e.g. data/batches/fmnist-small-seed0")
    p.add_argument(
        "--dataset", default="FashionMNIST", help=f"{', '.join(NAMES)}, any spelling (default %(default)s)"
    )
    p.add_argument("--networks", type=int, required=True, help="number of networks in the batch")
    p.add_argument(
        "--space",
        default="small",
        help=f"search space: {' or '.join(SPACES)}, or a space file (JSON, from nnlife space or "
        "nnlife.write_space; its space for --dataset) (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="batch seed (default %(default)s)")
    p.add_argument("--epochs", type=float, default=40, help="epochs per lifespan (default %(default)s)")
    p.add_argument(
        "--eval-interval", type=float, default=0.5, help="epochs between records (default %(default)s)"
    )
    p.add_argument(
        "--seeds-per-network", type=int, default=1, help="training seeds per network (default %(default)s)"
    )
    p.add_argument(
        "--train-size", type=int, default=None, help="training images (stratified subset; default all)"
    )
    p.add_argument("--val-size", type=int, default=None, help="validation images (default all)")
    p.add_argument("--subset-seed", type=int, default=0, help="seed of the subsets (default %(default)s)")
    p.add_argument(
        "--val-source",
        choices=("test", "train"),
        default="test",
        help="validate on the official test split or a holdout of train (default %(default)s)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="tcp://host:port of a running Dask scheduler, or a YAML file of dask-jobqueue "
        "options (default: a local cluster)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: one per core), or dask-jobqueue jobs",
    )
    p.add_argument(
        "--workers-per-gpu",
        type=int,
        default=None,
        metavar="N",
        help="N single-threaded worker processes per visible GPU, each on its own GPU (instead of --workers)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default %(default)s)")
    p.add_argument(
        "--not-deterministic", action="store_true", help="do not switch on torch's deterministic algorithms"
    )
    p.add_argument(
        "--memory-format",
        choices=("channels_last", "contiguous"),
        default=None,
        help="conv tensor layout (default: the batch folder's own when it holds one, which is "
        "contiguous for batches begun before nnlife had the setting; channels_last for a new batch)",
    )
    p.add_argument(
        "--order",
        choices=("largest-first", "cheapest-first"),
        default="largest-first",
        help="which lifespans start first: largest-first (default: the shortest batch) or "
        "cheapest-first (most tables early, for a run that will be cut short; with "
        "--checkpoint-every the big ones resume next time)",
    )
    p.add_argument("--save-weights", action="store_true", help="also write <id>.weights.pt per table")
    p.add_argument(
        "--checkpoint-every",
        type=float,
        default=None,
        help="epochs between checkpoints, so interrupted lifespans resume",
    )
    p.add_argument("--data-root", default=None, help="folder to look for the dataset in first")
    p.add_argument(
        "--job-script",
        action="store_true",
        help="print the batch-job script for the --scheduler YAML and exit",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="when another nnlife generate runs on OUT_DIR, wait for it instead of stopping",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``nnlife generate`` with parsed ``args``; returns the exit code."""
    from ..generate.batch import generate_batch
    from ..generate.cluster import job_script

    if args.job_script:
        if not args.scheduler:
            raise ParameterError("--job-script needs --scheduler FILE.yaml (dask-jobqueue options)")
        print(job_script(args.scheduler))
        return 0
    if not args.out_dir.strip():
        raise ParameterError(
            f"OUT_DIR {args.out_dir!r} names no folder; name the batch folder, e.g. "
            "data/batches/fashionmnist-small-seed0"
        )
    epochs = int(args.epochs) if float(args.epochs).is_integer() else args.epochs
    space = args.space
    if space.lower() not in SPACES:  # a space file
        from pathlib import Path

        from ..space import read_space

        if not Path(space).is_file():
            raise ParameterError(
                f"unknown search space {space!r}: use one of {', '.join(SPACES)}, or a space file "
                "(JSON, from nnlife space DATA --out FILE)"
            )
        space = read_space(space, dataset=args.dataset)
    frame = generate_batch(
        args.out_dir,
        args.dataset,
        args.networks,
        space=space,
        seed=args.seed,
        epochs=epochs,
        seeds_per_network=args.seeds_per_network,
        train_size=args.train_size,
        val_size=args.val_size,
        scheduler=args.scheduler,
        workers=args.workers,
        device=args.device,
        eval_interval=args.eval_interval,
        subset_seed=args.subset_seed,
        val_source=args.val_source,
        deterministic=not args.not_deterministic,
        memory_format=args.memory_format,
        order=args.order,
        save_weights=args.save_weights,
        checkpoint_every=args.checkpoint_every,
        data_root=args.data_root,
        progress=not args.quiet,
        wait=args.wait,
        workers_per_gpu=args.workers_per_gpu,
    )
    counts = frame["status"].value_counts().to_dict()
    print(
        f"{len(frame)} lifespans in {args.out_dir}: {int(frame['trained'].sum())} trained now, "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    )
    from ..generate.balance import tail_idle

    now = frame[frame["trained"]]
    tail = tail_idle(zip(now["worker"], now["started_at"], now["finished_at"]))
    if tail is not None:
        print(
            f"{tail.workers} worker(s) trained for {tail.span_s:.1f} s; idle at the tail (after their "
            f"last lifespan): {tail.tail_idle_share:.1%} of their time, idle in all: {tail.idle_share:.1%}"
        )
    return 0
