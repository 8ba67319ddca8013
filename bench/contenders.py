"""The contenders of the training benchmarks (``train_throughput.py``, ``train_full_size.py``).

One module for what both scripts run and report: the benchmark network of a space
(``pick_network``), its data (``setup_network``), the contenders (``nnlife_run``, the torchvision
``DataLoader`` loop ``plain_loop``, ``lightning_run``, the bare SGD steps ``bare_steps``) and the
matmul rate (``matmul_rate``), ``bench_network``, which times them all interleaved and derives
the figures, ``quiet_run`` (the threads and the silenced Lightning logs of a run) and the
contenders' table (``CONTENDERS``, ``contender_table``). What each contender does and how the
FLOP rate is counted is in ``train_throughput.py``'s docstring.
"""

from __future__ import annotations

import gzip
import math
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from run import interleave, log, md_table, median, medians

THREADS = 1  # torch threads of every contender (and of the matmul peak)
CONTENDERS = {  # what each contender is, for the tables of both reports
    "steps_only": "reference: the SGD steps alone (no recording, no evaluation)",
    "nnlife": "`train_lifespan`, eval every 0.5 epoch",
    "nnlife_eval1": "`train_lifespan`, eval every 1.0 epoch",
    "dataloader": "plain loop, torchvision + `DataLoader(num_workers=0)`",
    "dataloader_2w": "plain loop, `DataLoader(num_workers=2)` (3 processes)",
    "lightning": "Lightning `Trainer(val_check_interval=0.5, CSVLogger)`",
}


def quiet_run(threads: int = THREADS) -> None:
    """Silence Lightning's advice and logs and set torch's thread count, for a benchmark run."""
    import logging

    import torch

    warnings.filterwarnings("ignore")  # Lightning's advice on num_workers etc.
    for name in ("lightning.pytorch", "lightning", "pytorch_lightning", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    torch.set_num_threads(threads)


def setup_network(space: str, cfg: dict, device: str = "cpu"):
    """(seed, net, train, data): the benchmark network of ``space``, its TrainSpec at the mode's
    sizes and epochs (eval every half epoch), and the Fashion-MNIST subset it trains on."""
    import nnlife

    seed, net, train0 = pick_network(space)
    train = train0.replace(
        epochs=cfg["epochs"],
        train_size=cfg["train_size"],
        val_size=cfg["val_size"],
        eval_interval=0.5,
        device=device,
    )
    data = nnlife.load_dataset(
        "FashionMNIST", train_size=cfg["train_size"], val_size=cfg["val_size"], seed=train.subset_seed
    )
    return seed, net, train, data


def contender_table(r: dict, names, digits: int = 2) -> str:
    """The markdown table of one network's contenders (those of ``names`` that ran): median and
    all repeats' seconds, images/s, time against nnlife's, median CPU s, final accuracy."""
    rows = []
    for n in names:
        if n not in r["median_seconds"]:
            continue
        cpu_s = r["cpu_time"]["median_cpu_seconds"][n] if n != "dataloader_2w" else "n/a"
        rows.append(
            [
                CONTENDERS[n],
                r["median_seconds"][n],
                r["images_per_s"][n],
                f"{r['median_seconds'][n] / r['median_seconds']['nnlife']:.2f}x",
                cpu_s,
                r["final_val_acc"].get(n),
                ", ".join(f"{s:.{digits}f}" for s in r["all_seconds"][n]),
            ]
        )
    head = ["contender", "median s", "train images/s", "time / nnlife's", "median CPU s", "final val acc %"]
    return md_table([*head, "all repeats (s)"], rows)


# Evaluation is a tenth of a short run, so its cost (a difference of two run times) needs more
# pairs than the throughput figures: networks whose run takes under EVAL_PAIRS_MAX_S get
# ``eval_pairs`` back-to-back (eval 0.5, eval 1.0) pairs in all.
EVAL_PAIRS_MAX_S = 3.0
N_CANDIDATES = 101  # the benchmark network of a space: median FLOPs among sample(space, seed=0..100)
FASHION_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# --- the networks ---------------------------------------------------------------------------------
def pick_network(space: str, dataset: str = "FashionMNIST", n: int = N_CANDIDATES):
    """(seed, NetSpec, TrainSpec) of the network with the median forward FLOPs among the samples
    of ``space`` with seeds 0..n-1: a typical network of the space, not a hand-picked one."""
    from nnlife.generate.sampling import sample

    flops = [sample(space, dataset=dataset, seed=s)[0].flops_per_image for s in range(n)]
    seed = int(np.argsort(flops, kind="stable")[n // 2])
    net, train = sample(space, dataset=dataset, seed=seed)
    return seed, net, train


# --- torchvision's FashionMNIST over the Debian files ---------------------------------------------
def torchvision_root(tmp: Path) -> Path:
    """A root in torchvision's layout (``FashionMNIST/raw/``, the IDX files decompressed) made
    from the files nnlife found, so torchvision's ``FashionMNIST`` reads them without a download."""
    from nnlife.data import locate_dataset

    located = locate_dataset("FashionMNIST")
    raw = tmp / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in FASHION_FILES:
        src = located.paths[name]
        if src.suffix == ".gz":
            with gzip.open(src, "rb") as f, open(raw / name, "wb") as g:
                shutil.copyfileobj(f, g)
        else:
            shutil.copyfile(src, raw / name)
    return tmp


def user_datasets(root: Path, data):
    """torchvision datasets as a user writes them, restricted to nnlife's subset indices."""
    from torch.utils.data import Subset
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(data.mean, data.std)])
    train_set = datasets.FashionMNIST(str(root), train=True, transform=tf, download=False)
    val_set = datasets.FashionMNIST(str(root), train=False, transform=tf, download=False)
    train_idx = np.arange(len(train_set)) if data.train_index is None else data.train_index
    val_idx = np.arange(len(val_set)) if data.val_index is None else data.val_index
    return Subset(train_set, train_idx.tolist()), Subset(val_set, val_idx.tolist())


def _weights_generator(train):
    """The generator nnlife initialises the weights from, so every contender starts alike."""
    import torch

    from nnlife.train import WEIGHTS_STREAM, derive_seed

    return torch.Generator().manual_seed(derive_seed(train.seed, WEIGHTS_STREAM))


def _optimizer(model, train):
    import torch

    return torch.optim.SGD(
        model.parameters(),
        lr=train.learning_rate,
        momentum=train.momentum,
        dampening=train.dampening,
        weight_decay=train.weight_decay,
    )


# --- contender: a plain PyTorch loop --------------------------------------------------------------
def plain_loop(net, train, train_set, val_set, num_workers: int = 0, device: str = "cpu") -> dict:
    """The loop a user writes: DataLoader, SGD, evaluation every half epoch. Returns the curve."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader

    from nnlife.generate.network import build

    g = torch.Generator().manual_seed(train.seed)
    loader = DataLoader(
        train_set,
        batch_size=train.batch_size,
        shuffle=True,
        generator=g,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )
    val_loader = DataLoader(
        val_set,
        batch_size=train.batch_size,
        shuffle=False,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )
    model = build(net, generator=_weights_generator(train)).to(device)
    opt = _optimizer(model, train)
    loss_fn = nn.CrossEntropyLoss()
    n_batches = len(loader)
    checkpoints = {math.ceil(n_batches / 2), n_batches}  # half an epoch, a whole epoch

    def evaluate():
        model.eval()
        total, correct, n = 0.0, 0, 0
        with torch.no_grad():
            for x, y in val_loader:
                x, y = x.to(device), y.to(device)
                out = model(x)
                total += loss_fn(out, y).item() * len(y)
                correct += (out.argmax(1) == y).sum().item()
                n += len(y)
        model.train()
        return total / n, 100.0 * correct / n

    rows = []
    model.train()
    for epoch in range(int(train.epochs)):
        run_loss, run_correct, seen = 0.0, 0, 0
        for i, (x, y) in enumerate(loader, start=1):
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            opt.step()
            run_loss += loss.item() * len(y)
            run_correct += (out.argmax(1) == y).sum().item()
            seen += len(y)
            if i in checkpoints:
                val_loss, val_acc = evaluate()
                rows.append(
                    (epoch + i / n_batches, run_loss / seen, 100.0 * run_correct / seen, val_loss, val_acc)
                )
                run_loss, run_correct, seen = 0.0, 0, 0
    return {"rows": len(rows), "final_val_acc": rows[-1][4]}


# --- contender: PyTorch Lightning -----------------------------------------------------------------
def lightning_available() -> bool:
    try:
        import lightning  # noqa: F401
    except ImportError:
        return False
    return True


def lightning_run(net, train, train_set, val_set, log_dir: Path, accelerator: str = "cpu") -> dict:
    """The same training as a LightningModule with a Trainer evaluating every half epoch."""
    import lightning as L
    import torch
    from lightning.pytorch.loggers import CSVLogger
    from torch import nn
    from torch.utils.data import DataLoader

    from nnlife.generate.network import build

    class LitNet(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = build(net, generator=_weights_generator(train))
            self.loss_fn = nn.CrossEntropyLoss()
            self.reset()

        def reset(self):  # running sums of the training batches since the last evaluation
            self.run_loss, self.run_correct, self.seen = 0.0, 0, 0

        def training_step(self, batch, batch_idx):
            x, y = batch
            out = self.model(x)
            loss = self.loss_fn(out, y)
            self.run_loss += loss.detach() * len(y)
            self.run_correct += (out.argmax(1) == y).sum()
            self.seen += len(y)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            out = self.model(x)
            self.log("val_loss", self.loss_fn(out, y), batch_size=len(y))
            self.log("val_acc", 100.0 * (out.argmax(1) == y).float().mean(), batch_size=len(y))

        def on_validation_epoch_end(self):
            if self.seen:  # train loss/accuracy over the half epoch just finished
                self.log("train_loss", self.run_loss / self.seen)
                self.log("train_acc", 100.0 * self.run_correct / self.seen)
                self.reset()

        def configure_optimizers(self):
            return _optimizer(self.model, train)

    g = torch.Generator().manual_seed(train.seed)
    loader = DataLoader(train_set, batch_size=train.batch_size, shuffle=True, generator=g)
    val_loader = DataLoader(val_set, batch_size=train.batch_size, shuffle=False)
    trainer = L.Trainer(
        max_epochs=int(train.epochs),
        val_check_interval=0.5,
        logger=CSVLogger(str(log_dir)),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator=accelerator,
        devices=1,
    )
    module = LitNet()
    trainer.fit(module, loader, val_loader)
    acc = trainer.callback_metrics.get("val_acc")
    return {"rows": None, "final_val_acc": None if acc is None else float(acc)}


# --- reference: the SGD steps alone ---------------------------------------------------------------
def bare_steps(net, train, data) -> dict:
    """The floor of eager PyTorch: only the SGD steps over the same images and batch size (data
    already in memory as uint8 tensors, a random order per epoch), no recording, no evaluation.
    Any training loop that records a curve takes at least this long."""
    import torch
    from torch import nn

    from nnlife.generate.network import build

    model = build(net, generator=_weights_generator(train))
    opt = _optimizer(model, train)
    loss_fn = nn.CrossEntropyLoss()
    x_all, y_all, bs = data.train_x, data.train_y, train.batch_size
    scale = torch.tensor([1 / (255 * s) for s in data.std]).view(1, -1, 1, 1)
    shift = torch.tensor([m / s for m, s in zip(data.mean, data.std)]).view(1, -1, 1, 1)
    g = torch.Generator().manual_seed(train.seed)
    model.train()
    for _ in range(int(train.epochs)):
        perm = torch.randperm(len(y_all), generator=g)
        for b in range(0, len(y_all), bs):
            idx = perm[b : b + bs]
            out = model(x_all[idx].float().mul_(scale).sub_(shift))
            loss = loss_fn(out, y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return {"rows": 0, "final_val_acc": None}


# --- contender: nnlife ----------------------------------------------------------------------------
def nnlife_run(net, train, data, device: str = "cpu") -> dict:
    from nnlife.train import train_lifespan

    life = train_lifespan(net, train, data, device=device)
    return {"rows": len(life.curve), "final_val_acc": float(life.curve["val_acc"].iloc[-1])}


def timed(fn, *args, **kwargs):
    """A contender callable for ``interleave``: runs fn and adds ``seconds`` (wall clock) and
    ``cpu_seconds`` (this process's CPU time: less sensitive to other jobs on a shared machine;
    it leaves out DataLoader worker processes)."""

    def call():
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn(*args, **kwargs)
        out = dict(out)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds"] = time.process_time() - c0
        return out

    return call


def matmul_rate(n: int, device: str = "cpu") -> dict:
    """fp32 matmul of two n x n matrices: the best of 3 timed products after a warm-up (FLOP/s)."""
    import torch

    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device)
    b = torch.randn(n, n, generator=g).to(device)
    torch.matmul(a, b)
    best, best_cpu = math.inf, math.inf
    for _ in range(3):
        if device != "cpu":
            torch.cuda.synchronize()
        c0, t0 = time.process_time(), time.perf_counter()
        torch.matmul(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return {
        "seconds": best,
        "cpu_seconds": best_cpu,
        "flops_per_s": 2.0 * n**3 / best,
        "flops_per_cpu_s": 2.0 * n**3 / max(best_cpu, 1e-9),
    }


# --- the benchmark --------------------------------------------------------------------------------
def bench_network(space: str, cfg: dict, root: Path, tmp: Path, device: str = "cpu") -> dict:
    """Every contender on the benchmark network of ``space``; medians and derived figures."""
    seed, net, train, data = setup_network(space, cfg, device)
    train_set, val_set = user_datasets(root, data)
    contenders = {"nnlife": timed(nnlife_run, net, train, data, device)}
    if cfg.get("eval1", True):  # the eval-overhead pair (train_full_size.py leaves it out: 1 min each)
        contenders["nnlife_eval1"] = timed(nnlife_run, net, train.replace(eval_interval=1.0), data, device)
    contenders["dataloader"] = timed(plain_loop, net, train, train_set, val_set, 0, device)
    if device == "cpu" and cfg.get("steps_only", True):
        contenders["steps_only"] = timed(bare_steps, net, train, data)
    if cfg["workers2"]:
        contenders["dataloader_2w"] = timed(plain_loop, net, train, train_set, val_set, 2, device)
    if lightning_available():
        contenders["lightning"] = timed(
            lightning_run,
            net,
            train,
            train_set,
            val_set,
            tmp / "lightning",
            "cpu" if device == "cpu" else "gpu",
        )
    contenders["matmul"] = lambda: matmul_rate(cfg["matmul_n"], device)
    log(
        f"{space}: seed {seed}, {net.canonical()}, batch {train.batch_size}, "
        f"{net.flops_per_image:,} FLOPs/image"
    )
    runs = interleave(contenders, cfg["repeats"], label=space, warmup=cfg["warmup"])
    med = {name: medians(r) for name, r in runs.items()}
    pairs = {"nnlife": list(runs["nnlife"]), "nnlife_eval1": list(runs.get("nnlife_eval1", []))}
    extra_pairs = cfg["eval_pairs"] - cfg["repeats"]
    if extra_pairs > 0 and med["nnlife"]["seconds"] < EVAL_PAIRS_MAX_S and "nnlife_eval1" in runs:
        more = interleave({k: contenders[k] for k in pairs}, extra_pairs, label=f"{space} eval pairs")
        for k in pairs:
            pairs[k] += more[k]

    n_train = len(data.train_y) * train.epochs
    n_evals = train.n_records
    n_val = len(data.val_y) * n_evals
    F = net.flops_per_image
    flops = 3 * F * n_train + F * n_val
    t = {name: m["seconds"] for name, m in med.items()}
    ips = {name: n_train / t[name] for name in t if name != "matmul"}
    peak = med["matmul"]["flops_per_s"]
    achieved = flops / t["nnlife"]

    # E evaluations cost t_0.5 - t_1.0: the median of the per-repeat differences (each pair ran
    # back to back, so slow drifts of a shared machine cancel), not the difference of medians
    def eval_cost(key):  # nan without the eval-every-epoch runs
        d = median([a[key] - b[key] for a, b in zip(pairs["nnlife"], pairs["nnlife_eval1"])])
        return math.nan if d is None else d

    t_noeval = t["nnlife"] - 2 * eval_cost("seconds")
    steps_flops = 3 * F * n_train
    c = {name: m["cpu_seconds"] for name, m in med.items()}
    c_noeval = c["nnlife"] - 2 * eval_cost("cpu_seconds")
    cpu = {  # the same figures from CPU time (dataloader_2w left out: its workers' CPU is not counted)
        "median_cpu_seconds": c,
        "ratio_vs_dataloader": c["dataloader"] / c["nnlife"],
        "ratio_vs_lightning": c["lightning"] / c["nnlife"] if "lightning" in c else None,
        "peak_fraction": (flops / c["nnlife"]) / med["matmul"]["flops_per_cpu_s"],
        "eval_overhead_points": 100.0 * (c["nnlife"] - c_noeval) / c["nnlife"],
    }
    out = {
        "space": space,
        "seed": seed,
        "net": net.canonical(),
        "net_id": net.id,
        "flops_per_image": F,
        "n_params": net.n_params,
        "batch_size": train.batch_size,
        "learning_rate": train.learning_rate,
        "momentum": train.momentum,
        "train_images": len(data.train_y),
        "val_images": len(data.val_y),
        "epochs": train.epochs,
        "evaluations": n_evals,
        "device": device,
        "threads": THREADS,
        "median_seconds": t,
        "images_per_s": ips,
        "final_val_acc": {name: m.get("final_val_acc") for name, m in med.items() if name != "matmul"},
        "all_seconds": {name: [r["seconds"] for r in rs] for name, rs in runs.items()},
        "ratio_vs_dataloader": t["dataloader"] / t["nnlife"],
        "ratio_vs_dataloader_2w": t["dataloader_2w"] / t["nnlife"] if "dataloader_2w" in t else None,
        "ratio_vs_lightning": t["lightning"] / t["nnlife"] if "lightning" in t else None,
        "matmul_n": cfg["matmul_n"],
        "matmul_flops_per_s": peak,
        "achieved_flops_per_s": achieved,
        "peak_fraction": achieved / peak,
        "seconds_without_eval": t_noeval,
        "eval_pairs": len(pairs["nnlife_eval1"]),
        "eval_overhead_points": 100.0 * (t["nnlife"] - t_noeval) / t["nnlife"],
        "eval_flop_share_points": 100.0 * F * n_val / flops,
        "cpu_time": cpu,
    }
    if "steps_only" in t:  # the floor: what fraction of the matmul rate the steps alone reach
        out["steps_only_peak_fraction"] = steps_flops / t["steps_only"] / peak
        out["steps_only_peak_fraction_cpu"] = steps_flops / c["steps_only"] / med["matmul"]["flops_per_cpu_s"]
        out["nnlife_over_steps_only"] = t["nnlife"] / t["steps_only"]
    return out
