"""One lifespan: train a network with SGD and record its learning curve every evaluation interval.

``train_lifespan(net, train, data)`` is the whole training loop, in banner sections: set-up,
model and randomness, the loop over evaluation intervals (train, record, check, checkpoint), and
the result. It returns a ``Lifespan`` and prints nothing; progress goes to a callback.

What a record holds (one row per evaluation interval, 0.5 epoch by default):
- ``train_loss``, ``train_acc``: means over the interval's training batches, weighted by batch size
  (every image of the interval counts once), measured on the fly in training mode (dropout on),
  as the original's per-half-epoch ``trainLoss``;
- ``val_loss``, ``val_acc``: over the whole validation split in evaluation mode (dropout off);
  with ``TrainSpec.drop_last_val`` only over the images that fill whole batches of ``batch_size``,
  as the original did (its valAcc denominators are 10000, 9858 and 9880 for batch sizes 25, 186
  and 152: see ``tests/fixtures/README.md``);
- ``elapsed_s``: wall-clock seconds since training started (evaluation included).

An epoch is ``ceil(N / batch_size)`` batches (the last one partial), taken by index from a seeded
permutation of the N training images, new each epoch. An interval of 1/k epoch is the batches
``ceil(j * n_batches / k)`` to ``ceil((j + 1) * n_batches / k)`` of the epoch: a half epoch is the
first half of the epoch's batches, then the rest.

Speed: images stay uint8 tensors on the device; each batch is gathered by index and normalised
(``(x / 255 - mean) / std``) as one fused multiply-subtract; losses and correct counts are summed
on the device and read once per interval; evaluation runs under ``torch.inference_mode()`` in
large batches. No DataLoader, no worker processes, no per-image Python. The network and its
batches use ``TrainSpec.memory_format``: "channels_last" (NHWC, the default since issue 16) lets
oneDNN's brgemm convolutions skip the zero padding that the large-kernel, strided layers of the
paper's space are mostly made of (the median paper network trains 1.6x faster on one core and
evaluates ~10x faster, see reports/benchmarks.md). Its sums may run in another order than in
NCHW ("contiguous", what nnlife used before and what older tables record): on this project's CPU
the two give bit-identical curves, but oneDNN and cuDNN do not promise it, so the field is in the
table and a replay uses the table's.

Randomness (no global seeding, STYLE.md rule 3): ``TrainSpec.seed`` is split with numpy's
``SeedSequence`` into independent streams: weights (a ``torch.Generator`` passed to ``build``),
the data order (one generator per epoch, so a resumed run draws the same permutations), and
dropout. ``nn.Dropout`` can only draw from torch's global generator, so training runs inside
``torch.random.fork_rng``: the global state is seeded from the dropout stream there and restored
on exit, so the caller's global state is unchanged. (Because the global generator is shared,
two lifespans must not train concurrently in threads of one process; Dask workers run one task
per process, see ``nnlife.generate.batch``.)

Determinism: on CPU, the same inputs and thread count give bit-identical curves. With
``TrainSpec.deterministic`` torch's deterministic algorithms are switched on for the run (and
switched back after), which makes CUDA runs repeatable too. On CUDA nnlife trains in true
float32: TF32 convolutions are switched off for the run, since the table says ``precision fp32``.

oneDNN 1x1 bug (torch 2.14.1, oneDNN 3.12; docs/known-issues.md): on CPU with more than one torch
thread, oneDNN's backward-weights kernel for a 1x1 strided convolution on an NHWC input with fewer
than 16 channels writes past its workspace (heap corruption: "free(): invalid size", segfaults).
``strided_1x1_layers`` names the layers it can reach; for those networks oneDNN is switched off for
the run when torch uses more than one thread (``meta["onednn"] = "off"``). One-thread runs are
unchanged.

Checkpoints (optional): with ``checkpoint`` and ``checkpoint_every``, the model, the optimizer,
the dropout generator, the rows so far and the elapsed time are saved atomically at record
boundaries; a later call with the same arguments resumes from the file and gives the same
losses and accuracies as a run that was never interrupted (``elapsed_s`` continues from the
saved time). A checkpoint that belongs to another network or training spec is ignored.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .. import __version__
from .. import columns as C
from ..errors import ParameterError
from ..limits import check_activations
from ..spec import NetSpec, TrainSpec
from ..table import Lifespan, curve_frame
from .checkpoint import atomic_save, load_checkpoint, restore, save_checkpoint
from .device import device_label, device_name, resolve_device

# Seed streams derived from TrainSpec.seed (SeedSequence([seed, stream, ...])).
WEIGHTS_STREAM, ORDER_STREAM, DROPOUT_STREAM = 0, 1, 2
EVAL_FLOATS = 2**26  # activation floats per validation forward pass (256 MiB in float32)
EVAL_BATCH_MAX = 4096  # images per validation forward pass, at most

Progress = Callable[[int, int, dict], None]  # (records done, records planned, the new row)


# --- small helpers --------------------------------------------------------------------------------
def derive_seed(seed: int, *stream: int) -> int:
    """A 63-bit seed for one purpose, derived from ``seed`` and a stream id (independent streams)."""
    return int(np.random.SeedSequence([int(seed), *map(int, stream)]).generate_state(1, np.uint64)[0] >> 1)


def interval_bounds(n_train: int, batch_size: int, eval_interval: float) -> list[int]:
    """Batch indices where each evaluation interval of an epoch starts, plus the epoch's end.

    ``ceil(j * n_batches / k)`` for j = 0..k with k = 1 / eval_interval (see the module
    docstring). Raises ParameterError when an epoch has fewer batches than intervals, so that
    some interval would hold no batch.
    """
    n_batches = math.ceil(n_train / batch_size)
    k = round(1 / eval_interval)
    if n_batches < k:
        raise ParameterError(
            f"{n_train} training images in batches of {batch_size} give {n_batches} batch(es) per "
            f"epoch, fewer than the {k} evaluation intervals of {eval_interval} epoch; use at least "
            f"{k * batch_size} training images (train_size), or a longer eval_interval"
        )
    return [math.ceil(j * n_batches / k) for j in range(k + 1)]


def eval_batch_size(net: NetSpec) -> int:
    """Images per validation forward pass: as many as keep the largest activation within
    ``EVAL_FLOATS`` floats, between 64 and ``EVAL_BATCH_MAX`` (a function of the spec only, so a
    replay sums the validation loss in the same order)."""
    c, h, w = net.input_shape
    largest = c * h * w
    for (cc, ch, cw), _ in net.layer_shapes():  # right after each convolution (as ever: tables replay)
        largest = max(largest, cc * ch * cw)
    largest = max(largest, *net.fc)
    return int(min(EVAL_BATCH_MAX, max(64, EVAL_FLOATS // largest)))


def check_data(train: TrainSpec, data) -> None:
    """Raise ParameterError unless ``data`` is the data ``train`` describes (dataset, subset
    sizes, subset seed, validation source), naming each mismatch and the fix."""
    if data.name != train.dataset:
        raise ParameterError(
            f"the TrainSpec is for {train.dataset} but the data is {data.name}; "
            f"load {train.dataset} with nnlife.load_dataset"
        )
    val_source = "train" if data.val_source == "train-holdout" else data.val_source
    wrong = []
    if train.val_source != val_source:
        wrong.append(f"val_source {train.val_source!r} vs {val_source!r}")
    if train.train_size != data.train_size:
        wrong.append(f"train_size {train.train_size} vs {data.train_size}")
    holdout_default = val_source == "train" and train.val_size is None
    if train.val_size != data.val_size and not holdout_default:
        wrong.append(f"val_size {train.val_size} vs {data.val_size}")
    subset = data.train_size is not None or data.val_size is not None or val_source == "train"
    if subset and train.subset_seed != data.subset_seed:
        wrong.append(f"subset_seed {train.subset_seed} vs {data.subset_seed}")
    if wrong:
        raise ParameterError(
            "the TrainSpec and the data disagree (" + "; ".join(wrong) + "): load the data with "
            "nnlife.load_dataset(train.dataset, train_size=train.train_size, val_size=train.val_size, "
            "seed=train.subset_seed, val_source=train.val_source), or replace those TrainSpec fields"
        )


def provenance(dev, data) -> dict[str, str]:
    """The ``Lifespan.meta`` entries every nnlife table carries (versions, machine, data files)."""
    import torch

    return {
        "nnlife_version": __version__,
        "torch_version": torch.__version__,
        "device_name": device_name(dev),
        "host": socket.gethostname(),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset_files": ";".join(f"{k}={v}" for k, v in sorted(data.files.items())),
        "torch_threads": str(torch.get_num_threads()),
    }


_ON_DEVICE: dict = {}  # (id(data), device) -> (data, tensors): each dataset is copied to a GPU once


def _data_on(data, dev):
    """(train_x, train_y, val_x, val_y, scale, shift) on ``dev``; x stays uint8 and
    ``x * scale - shift`` equals ``(x / 255 - mean) / std`` per channel."""
    import torch

    key = (id(data), str(dev))
    hit = _ON_DEVICE.get(key)
    if hit is not None and hit[0] is data:
        return hit[1]
    mean = torch.tensor(data.mean, dtype=torch.float64).view(1, -1, 1, 1)
    std = torch.tensor(data.std, dtype=torch.float64).view(1, -1, 1, 1)
    scale, shift = (1 / (255 * std)).float(), (mean / std).float()
    tensors = tuple(t.to(dev) for t in (data.train_x, data.train_y, data.val_x, data.val_y, scale, shift))
    if dev.type != "cpu":
        _ON_DEVICE.clear()  # keep one dataset per GPU process, not every one ever used
        _ON_DEVICE[key] = (data, tensors)
    return tensors


def strided_1x1_layers(net: NetSpec, train: TrainSpec) -> tuple[int, ...]:
    """Conv layers (1-based) where oneDNN's 1x1 strided backward-weights bug can strike on CPU.

    oneDNN's ``jit_1x1`` backward weights copies the strided input into a per-thread workspace of
    ``is * ic`` floats at offset ``sp * ic_block`` (oneDNN issue #6035), so with fewer input
    channels than the ISA's ic_block (16 on AVX-512, 8 on AVX2) it writes past it. It takes that
    path for kernel 1, stride > 1, no padding, an input side divisible by the stride, and an NHWC
    source: every layer in "channels_last", and a 1-channel input in either format (its channel
    stride is 1, which torch reads as channels-last).
    """
    c, h, w = net.input_shape
    hit = []
    for i, (layer, (_, after_pool)) in enumerate(zip(net.conv, net.layer_shapes()), start=1):
        s = layer.stride
        if (
            layer.kernel == 1
            and s > 1
            and layer.padding == 0
            and h % s == 0
            and w % s == 0
            and c < 16
            and (train.memory_format == "channels_last" or c == 1)
        ):
            hit.append(i)
        c, h, w = after_pool
    return tuple(hit)


@contextmanager
def _run_scope(dev, dropout_seed: int, deterministic: bool, onednn: bool = True):
    """Fork torch's global RNG (dropout draws from it) and set the numerics for one run (oneDNN
    off when ``onednn`` is False); everything is restored on exit."""
    import torch

    devices = [dev.index] if dev.type == "cuda" else []
    cudnn = torch.backends.cudnn
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn.benchmark,
        cudnn.allow_tf32,
        torch.backends.mkldnn.enabled,
    )
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(dropout_seed)
        if dev.type == "cuda":
            with torch.cuda.device(dev):
                torch.cuda.manual_seed(dropout_seed)
            # cuBLAS needs this for deterministic results; it is read when cuBLAS starts.
            if deterministic:
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        try:
            torch.use_deterministic_algorithms(deterministic)
            cudnn.benchmark = dev.type == "cuda" and not deterministic
            cudnn.allow_tf32 = False  # precision "fp32" means fp32, not TF32
            if not onednn:
                torch.backends.mkldnn.enabled = False
            yield
        finally:
            torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
            cudnn.benchmark, cudnn.allow_tf32 = saved[2], saved[3]
            torch.backends.mkldnn.enabled = saved[4]


def memory_format(train: TrainSpec):
    """The torch memory format of ``train.memory_format`` (for the model and every batch)."""
    import torch

    return torch.channels_last if train.memory_format == "channels_last" else torch.contiguous_format


def build_model(net: NetSpec, train: TrainSpec, dev):
    """The lifespan's model: weights drawn from the seed's weights stream, on ``dev``, in the
    TrainSpec's memory format (the same values in either format)."""
    import torch

    from .network import build

    weights_gen = torch.Generator().manual_seed(derive_seed(train.seed, WEIGHTS_STREAM))
    return build(net, generator=weights_gen).to(dev).to(memory_format=memory_format(train))


def make_optimizer(model, train: TrainSpec):
    """SGD with the TrainSpec's learning rate, momentum, dampening and weight decay."""
    import torch

    return torch.optim.SGD(
        model.parameters(),
        lr=train.learning_rate,
        momentum=train.momentum,
        dampening=train.dampening,
        weight_decay=train.weight_decay,
    )


def gather(x_all, idx, scale, shift, fmt):
    """Images ``idx`` of the uint8 tensor ``x_all`` as normalised float32 in memory format ``fmt``
    (``x * scale - shift``: one fused multiply-subtract; the layout change is a no-op for one
    channel and for the contiguous format)."""
    return x_all[idx].float().mul_(scale).sub_(shift).contiguous(memory_format=fmt)


def speed_settings(train: TrainSpec) -> dict:
    """The settings of nnlife's loop that bear on speed (for reports and benchmarks)."""
    import torch

    return {"memory_format": train.memory_format, "torch_threads": torch.get_num_threads()}


def _evaluate(model, x, y, scale, shift, n_used: int, chunk: int, fmt=None) -> tuple[float, float]:
    """(mean cross-entropy, % correct) over the first ``n_used`` validation images, in batches of
    ``chunk`` in memory format ``fmt`` (default: contiguous)."""
    import torch
    import torch.nn.functional as F

    fmt = torch.contiguous_format if fmt is None else fmt
    model.eval()
    with torch.inference_mode():
        loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
        correct = torch.zeros((), dtype=torch.int64, device=x.device)
        for s in range(0, n_used, chunk):
            e = min(s + chunk, n_used)
            out = model(x[s:e].float().mul_(scale).sub_(shift).contiguous(memory_format=fmt))
            loss_sum += F.cross_entropy(out, y[s:e], reduction="sum").double()
            correct += (out.argmax(1) == y[s:e]).sum()
        loss, n_correct = loss_sum.item(), correct.item()
    model.train()
    return loss / n_used, 100.0 * n_correct / n_used


# --- the training function ------------------------------------------------------------------------
def train_lifespan(
    net: NetSpec,
    train: TrainSpec,
    data,
    device="auto",
    progress: Progress | None = None,
    *,
    id: str | None = None,
    meta: dict | None = None,
    weights=None,
    checkpoint=None,
    checkpoint_every: float | None = None,
    until_epoch: float | None = None,
) -> Lifespan:
    """Train ``net`` as ``train`` says on ``data`` and return its ``Lifespan``.

    net, train: the network and its training (SGD with the spec's learning rate, momentum,
        dampening and weight decay; CrossEntropyLoss; constant learning rate unless
        ``train.lr_schedule == "cosine"``).
    data: a ``nnlife.data.Dataset`` whose name, subset sizes, subset seed and validation source
        are those of ``train`` (ParameterError otherwise).
    device: "auto" (a GPU when there is one), "cpu", "cuda" or "cuda:N"; the device used is
        written into the result's ``train.device``.
    progress: called after every record with (records done, records planned, row dict).
    id: the table id (default ``f"{net.id}-s{train.seed}"``, whitespace-free).
    meta: extra provenance strings for ``Lifespan.meta`` (keys without spaces).
    weights: a file path; the final weights (``state_dict``, CPU tensors) are saved there with
        ``torch.save`` and its file name goes into ``meta["weights"]``.
    checkpoint, checkpoint_every: a file path and a period in epochs (a multiple of
        ``train.eval_interval``): training state is saved there that often and a later call
        resumes from it (see the module docstring). The file is left in place; delete it once
        the table is written.
    until_epoch: stop after this many epochs (a multiple of ``eval_interval``) although the
        schedule plans ``train.epochs``; for quick replays. None: train all of it.

    Returns a Lifespan: ``curve`` has ``train.n_records`` rows (epochs eval_interval ...
    epochs; accuracies in percent; losses in nats), status "complete"; or, when a training or
    validation loss is not finite, the rows up to and including that interval and status
    "diverged" with ``meta["diverged_at"]`` = its epoch. Raises ParameterError for bad
    arguments and SpecError when the network does not fit the dataset, before training.
    """
    import torch
    from torch import nn

    # --- set-up: check the inputs, resolve the device, put the data there -------------------------
    dev = resolve_device(device)
    train = train.replace(device=device_label(dev))
    check_data(train, data)
    net.for_dataset(train.dataset)
    check_activations(net, train.batch_size)  # SpecError before torch allocates anything
    n_train, bs, k = len(data.train_y), train.batch_size, round(1 / train.eval_interval)
    bounds = interval_bounds(n_train, bs, train.eval_interval)
    n_batches = bounds[-1]
    n_rows = train.n_records
    if until_epoch is not None:
        if not 0 < until_epoch <= train.epochs or abs(until_epoch * k - round(until_epoch * k)) > 1e-9:
            raise ParameterError(
                f"until_epoch must be a multiple of {train.eval_interval} in "
                f"(0, {train.epochs}], got {until_epoch!r}"
            )
        n_rows = round(until_epoch * k)
    every = None
    if checkpoint is not None and checkpoint_every is not None:
        every = round(checkpoint_every * k)
        if every < 1 or abs(checkpoint_every * k - every) > 1e-9:
            raise ParameterError(
                f"checkpoint_every must be a positive multiple of eval_interval "
                f"{train.eval_interval} epochs, got {checkpoint_every!r}"
            )
        checkpoint = Path(checkpoint)
    n_val = len(data.val_y)
    n_val_used = (n_val // bs) * bs if train.drop_last_val else n_val
    if n_val_used < 1:
        raise ParameterError(
            f"drop_last_val with batch size {bs} leaves none of the {n_val} "
            "validation images; use more validation images (val_size)"
        )
    x_tr, y_tr, x_val, y_val, scale, shift = _data_on(data, dev)
    chunk = eval_batch_size(net)
    table_id = id or f"{net.id}-s{train.seed}"
    info = provenance(dev, data)
    info.update({"net_id": net.id, "eval_batch": str(chunk)})
    info.update({str(key): str(v) for key, v in (meta or {}).items()})
    # oneDNN's 1x1 strided backward weights corrupts the heap with > 1 thread (module docstring)
    onednn = not (dev.type == "cpu" and torch.get_num_threads() > 1 and strided_1x1_layers(net, train))
    if not onednn:
        info["onednn"] = "off"

    # --- model, optimiser, loss; the three seed streams -------------------------------------------
    fmt = memory_format(train)
    model = build_model(net, train, dev)
    opt = make_optimizer(model, train)
    loss_fn = nn.CrossEntropyLoss()
    total_steps = round(train.epochs * n_batches)

    def order(epoch: int):  # the epoch's data order: its own generator, so a resume redraws it
        g = torch.Generator().manual_seed(derive_seed(train.seed, ORDER_STREAM, epoch))
        return torch.randperm(n_train, generator=g).to(dev)

    rows: list[dict] = []
    status, start_row, elapsed_before = C.STATUS_COMPLETE, 0, 0.0
    state = load_checkpoint(checkpoint, net, train) if every else None

    with _run_scope(dev, derive_seed(train.seed, DROPOUT_STREAM), train.deterministic, onednn):
        if state is not None:
            rows, start_row, elapsed_before = restore(state, model, opt, dev)
            info["resumed_at_epoch"] = repr(start_row / k)
        model.train()
        t0 = time.perf_counter()
        perm = None

        # --- train: one evaluation interval at a time ---------------------------------------------
        for r in range(start_row, n_rows):
            epoch, part = divmod(r, k)
            if perm is None or part == 0:
                perm = order(epoch)
            loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
            correct = torch.zeros((), dtype=torch.int64, device=dev)
            seen = 0
            for b in range(bounds[part], bounds[part + 1]):
                if train.lr_schedule == "cosine":
                    step = epoch * n_batches + b
                    for group in opt.param_groups:
                        group["lr"] = train.learning_rate * 0.5 * (1 + math.cos(math.pi * step / total_steps))
                idx = perm[b * bs : (b + 1) * bs]
                x = gather(x_tr, idx, scale, shift, fmt)
                y = y_tr[idx]
                out = model(x)
                loss = loss_fn(out, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                n = len(idx)
                loss_sum += loss.detach().double() * n  # summed on the device: no sync per batch
                correct += (out.detach().argmax(1) == y).sum()
                seen += n

            # --- record: train means over the interval, validation over the split -----------------
            train_loss = loss_sum.item() / seen
            train_acc = 100.0 * correct.item() / seen
            val_loss, val_acc = _evaluate(model, x_val, y_val, scale, shift, n_val_used, chunk, fmt)
            row = {
                C.EPOCH: round((r + 1) / k, 9),
                C.TRAIN_LOSS: train_loss,
                C.TRAIN_ACC: train_acc,
                C.VAL_LOSS: val_loss,
                C.VAL_ACC: val_acc,
                C.ELAPSED_S: elapsed_before + time.perf_counter() - t0,
            }
            rows.append(row)

            # --- check: a non-finite loss ends the lifespan, kept and marked ----------------------
            diverged = not (math.isfinite(train_loss) and math.isfinite(val_loss))
            if diverged:
                status = C.STATUS_DIVERGED
                info["diverged_at"] = repr(row[C.EPOCH])

            # --- checkpoint: everything a resume needs, written atomically ------------------------
            elif every and (r + 1) % every == 0 and r + 1 < n_rows:
                save_checkpoint(checkpoint, net, train, rows, row[C.ELAPSED_S], model, opt, dev)
            if progress is not None:
                progress(len(rows), n_rows, row)
            if diverged:
                break

    # --- result: the curve, the final weights, the provenance -------------------------------------
    if weights is not None:
        weights = Path(weights)
        atomic_save({name: t.detach().cpu() for name, t in model.state_dict().items()}, weights)
        info["weights"] = weights.name
    curve = curve_frame(**{col: [row[col] for row in rows] for col in C.CURVE_COLUMNS})
    return Lifespan(id=table_id, net=net, train=train, curve=curve, status=status, meta=info, layout="nnlife")


__all__ = [
    "train_lifespan",
    "derive_seed",
    "interval_bounds",
    "check_data",
    "eval_batch_size",
    "provenance",
    "memory_format",
    "build_model",
    "make_optimizer",
    "gather",
    "speed_settings",
    "strided_1x1_layers",
]
