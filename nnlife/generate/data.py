"""Datasets as in-memory uint8 tensors: checksums, parsing, class-stratified subsets, a cache.

``load_dataset("FashionMNIST")`` finds the official files (``nnlife.generate.locate``), checks their
MD5 sums, reads them with ``nnlife.generate.readers`` (no per-image decoding) and returns a
``Dataset`` whose images are one uint8 tensor N x C x H x W per split. A process loads each
dataset once (``_CACHE``) and every lifespan it trains shares the same tensors.

Checksums: ``verify=True`` compares the MD5 of each file's *decompressed* content with the official
sum (the official files are uncompressed for CIFAR-100 and SVHN; for Fashion-MNIST the sums are
those of the official IDX files after gunzip, so Debian's recompressed ``.gz`` files, torchvision's
extracted files and its original ``.gz`` files all verify). CIFAR-100 files are unpickled only
after their sum matched, or when the caller trusts them with ``verify=False``. A place whose files
fail the check is an error (``ChecksumError``), not skipped: a damaged copy is never silently
replaced by another one.

``nnlife data NAME`` (``nnlife.cli.data``) checks that a dataset is there (exit 0) or prints the
error (exit 2); ``--download`` fetches it with torchvision first when it is missing.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..datasets import DATASETS, DataFile, DatasetInfo, canonical_name, holdout_size
from ..errors import ChecksumError, DatasetFormatError, ParameterError
from . import readers
from .locate import Located, locate_dataset

if TYPE_CHECKING:  # torch is imported when a dataset is first loaded, not with this module
    import torch

__all__ = [
    "Dataset",
    "load_dataset",
    "ensure_dataset",
    "stratified_subset",
    "clear_cache",
]


# --- reading and checking -------------------------------------------------------------------------


def _read_checked(path: Path, f: DataFile, dataset: str, verify: bool) -> tuple[bytes, str]:
    """Return (uncompressed content, its MD5 hex); raise ChecksumError on a mismatch if verify."""
    content = readers.decompress(path.read_bytes(), str(path))
    digest = hashlib.md5(content).hexdigest()
    if verify and digest != f.md5:
        what = "its decompressed content" if path.suffix == ".gz" else "its content"
        raise ChecksumError(
            f"{dataset} file {path}: the MD5 of {what} is {digest}, the official {f.name} has "
            f"{f.md5}. The file is damaged or not the official one: delete it and fetch it again "
            f"(nnlife data --download {dataset}), or, if you trust it as it is, pass "
            f"verify=False."
        )
    return content, digest


@dataclass(frozen=True, eq=False)
class _Raw:
    """The full official splits as numpy arrays (shared, never modified)."""

    train_x: np.ndarray  # uint8, N x C x H x W
    train_y: np.ndarray  # int64, N
    test_x: np.ndarray
    test_y: np.ndarray
    coarse_train_y: np.ndarray | None  # CIFAR-100 superclasses, int64
    coarse_test_y: np.ndarray | None
    md5: dict[str, str]  # official file name -> MD5 of the content read


def _read_raw(info: DatasetInfo, located: Located, verify: bool) -> _Raw:
    content: dict[str, bytes] = {}
    md5: dict[str, str] = {}
    # Every file is checked before any is parsed (pickles are never opened unchecked).
    for f in info.files:
        content[f.name], md5[f.name] = _read_checked(located.paths[f.name], f, info.name, verify)
    src = {f.name: str(located.paths[f.name]) for f in info.files}
    coarse: dict[str, np.ndarray | None] = {"train": None, "test": None}
    xs: dict[str, np.ndarray] = {}
    ys: dict[str, np.ndarray] = {}
    for f in info.files:
        if info.file_format == "idx":
            arr = readers.parse_idx(content[f.name], src[f.name])
            if f.part == "images":
                xs[f.split] = arr[:, None, :, :]  # N x 28 x 28 -> N x 1 x 28 x 28
            else:
                ys[f.split] = arr.astype(np.int64)
        elif info.file_format == "cifar-python":
            parsed = readers.parse_cifar_pickle(content[f.name], src[f.name])
            xs[f.split], ys[f.split] = parsed["x"], parsed["fine_labels"]
            coarse[f.split] = parsed["coarse_labels"]
        else:  # "svhn-mat"
            xs[f.split], ys[f.split] = readers.parse_svhn_mat(content[f.name], src[f.name])
        content[f.name] = b""  # let the bytes go as soon as they are parsed
    for split in ("train", "test"):
        x, y = xs[split], ys[split]
        if x.shape[1:] != info.input_shape or len(x) != len(y):
            raise DatasetFormatError(
                f"{info.name} {split} split in {located.root}: {x.shape} images for {y.shape} labels, "
                f"expected N x {info.input_shape} and N labels"
            )
        if len(y) and (y.min() < 0 or y.max() >= info.n_classes):
            raise DatasetFormatError(
                f"{info.name} {split} labels in {located.root} are outside 0..{info.n_classes - 1}"
            )
    return _Raw(xs["train"], ys["train"], xs["test"], ys["test"], coarse["train"], coarse["test"], md5)


# --- subsets and statistics -----------------------------------------------------------------------


def stratified_subset(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``size`` indices of ``labels`` without replacement, stratified by class.

    Each class c gets ``size * n_c / N`` images rounded down; the images left over go, one each,
    to the classes with the largest remainders (ties: lower class id first), so the total is
    exactly ``size`` and every class is within one image of its exact share. Within a class the
    images are drawn uniformly with ``rng`` (classes in increasing order, so the result depends
    only on labels, size and the generator's state). Returns the indices sorted ascending
    (int64), i.e. in the dataset's original order; training reshuffles them anyway.
    Raises ``ParameterError`` unless 0 < size <= len(labels).
    """
    labels = np.asarray(labels)
    n = len(labels)
    if not 0 < size <= n:
        raise ParameterError(f"subset size {size} must be between 1 and {n}, the images available")
    classes, counts = np.unique(labels, return_counts=True)
    # Integer arithmetic: no float rounding can make the quotas miss the total.
    quota = size * counts // n
    remainder = size * counts % n
    short = size - int(quota.sum())
    order = np.lexsort((classes, -remainder))  # largest remainder first, then lower class id
    quota[order[:short]] += 1
    picked = []
    for c, k in zip(classes, quota):
        if k:
            members = np.flatnonzero(labels == c)
            picked.append(rng.choice(members, size=int(k), replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64)


def _channel_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std (ddof=0) of uint8 images N x C x H x W, scaled to 0..1.

    Computed exactly from a 256-bin histogram per channel in float64, which needs no float copy
    of the images (CIFAR-100 would need 1.2 GB).
    """
    values = np.arange(256, dtype=np.float64) / 255.0
    means, stds = [], []
    for c in range(x.shape[1]):
        counts = np.bincount(x[:, c].reshape(-1), minlength=256).astype(np.float64)
        total = counts.sum()
        mean = float((counts * values).sum() / total)
        var = float((counts * (values - mean) ** 2).sum() / total)
        means.append(mean)
        stds.append(var**0.5)
    return tuple(means), tuple(stds)


# --- the Dataset object and load_dataset ----------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A dataset resident in memory. Shared by every lifespan of a process: never modify in place.

    Images are uint8 pixel values 0..255 (normalise with ``mean``/``std`` after dividing by 255).
    """

    name: str  # canonical spelling: "FashionMNIST", "CIFAR100" or "SVHN"
    train_x: torch.Tensor  # uint8, N_train x C x H x W, pixel values 0..255
    train_y: torch.Tensor  # int64, N_train, class ids 0..n_classes-1
    val_x: torch.Tensor  # uint8, N_val x C x H x W
    val_y: torch.Tensor  # int64, N_val
    n_classes: int  # number of classes
    mean: tuple[float, ...]  # per channel, of train_x / 255 (0..1 scale)
    std: tuple[float, ...]  # per channel population std (ddof=0) of train_x / 255
    val_source: str  # "test": the official test split; "train-holdout": held out of the training split
    train_size: int | None  # requested training subset size (images); None = the whole split
    val_size: int | None  # validation size (images): requested, or the holdout size; None = whole test split
    subset_seed: int  # seed of the stratified draws (subsets and holdout)
    files: dict[str, str]  # official file name -> MD5 (hex) of the uncompressed content read
    root: str  # folder the files were read from
    verified: bool  # whether the MD5 sums were checked against the official ones
    train_index: np.ndarray | None = None  # int64 indices into the official training split; None = all
    val_index: np.ndarray | None = None  # int64 indices into the split val comes from; None = all
    coarse_train_y: torch.Tensor | None = None  # CIFAR-100 only: int64 superclass ids 0..19
    coarse_val_y: torch.Tensor | None = None  # CIFAR-100 only

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image, in pixels."""
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    def __repr__(self) -> str:  # the default would print the tensors
        return (
            f"Dataset({self.name}: train {tuple(self.train_x.shape)}, val {tuple(self.val_x.shape)} "
            f"from {self.val_source}, {self.n_classes} classes, seed {self.subset_seed}, root {self.root!r})"
        )


_CACHE: dict[tuple, Dataset] = {}  # (name, root, flat, verify, sizes, seed, val_source) -> Dataset
_RAW_CACHE: dict[tuple, _Raw] = {}  # (name, root, verify) -> full official splits
_LOCK = threading.RLock()  # one load at a time, so threads of one process share one copy


def clear_cache() -> None:
    """Forget every dataset loaded in this process (the next load reads the files again)."""
    with _LOCK:
        _CACHE.clear()
        _RAW_CACHE.clear()


def _check_size(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ParameterError(f"{what} must be a positive whole number of images or None, got {value!r}")
    return int(value)


def load_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    download: bool = False,
    train_size: int | None = None,
    val_size: int | None = None,
    seed: int = 0,
    verify: bool = True,
    val_source: str = "test",
) -> Dataset:
    """Load a dataset into memory as uint8 tensors, once per process.

    name: "FashionMNIST", "CIFAR100" or "SVHN", any letter case.
    root: a folder to look in first (torchvision's layout); see the module docstring for the
        order of the places looked at after it.
    download: fetch the files with torchvision's downloader when no place has them.
    train_size, val_size: draw a class-stratified subset of that many images (seeded by
        ``seed``; see ``stratified_subset``); None = the whole split.
    seed: non-negative int; the holdout, the training subset and the validation subset each use
        their own generator ``np.random.default_rng([seed, k])``, so one draw never shifts another.
    verify: check the official MD5 sums; False trusts the files as they are (and unpickles them).
    val_source: "test" (default, as the original): validation is the official test split;
        "train": hold out ``val_size`` images (default min(10000, N_train // 6)), stratified,
        from the official training split, and train on (a subset of) the rest; the test split is
        then not used.

    Returns a ``Dataset``; a repeat call with the same arguments in the same process returns
    the same object. Raises ``DatasetNotFoundError`` (no place has the files),
    ``ChecksumError`` (a file's MD5 is not the official one), ``ParameterError`` (bad argument),
    ``nnlife.readers.DatasetFormatError`` (a trusted file that does not follow its format).
    """
    canonical = canonical_name(name)
    info = DATASETS[canonical]
    train_size = _check_size(train_size, "train_size")
    val_size = _check_size(val_size, "val_size")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative int, got {seed!r}")
    if val_source not in ("test", "train"):
        raise ParameterError(f"val_source must be 'test' or 'train', got {val_source!r}")
    verify = bool(verify)

    with _LOCK:
        located = locate_dataset(canonical, root=root, download=download)
        where = os.path.abspath(located.root)
        key = (canonical, where, verify, train_size, val_size, int(seed), val_source)
        if key in _CACHE:
            return _CACHE[key]
        raw_key = (canonical, where, verify)
        if raw_key not in _RAW_CACHE:
            _RAW_CACHE[raw_key] = _read_raw(info, located, verify)
        dataset = _make_dataset(
            info, _RAW_CACHE[raw_key], where, verify, train_size, val_size, int(seed), val_source
        )
        _CACHE[key] = dataset
        return dataset


def _make_dataset(
    info: DatasetInfo,
    raw: _Raw,
    where: str,
    verify: bool,
    train_size: int | None,
    val_size: int | None,
    seed: int,
    val_source: str,
) -> Dataset:
    import torch

    def rng(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])  # k: 0 holdout, 1 train subset, 2 val subset

    n_train = len(raw.train_y)
    coarse_train, coarse_val = raw.coarse_train_y, raw.coarse_test_y
    if val_source == "train":
        holdout = holdout_size(info.name, val_size)
        if holdout >= n_train:
            raise ParameterError(
                f"val_size={holdout} leaves no training images: {info.name}'s training split has {n_train}"
            )
        val_index = stratified_subset(raw.train_y, holdout, rng(0))
        pool = np.setdiff1d(np.arange(n_train), val_index, assume_unique=True)
        val_x, val_y = raw.train_x[val_index], raw.train_y[val_index]
        coarse_val = None if coarse_train is None else coarse_train[val_index]
        val_size_out: int | None = holdout
    else:
        pool = None
        val_index = None
        val_x, val_y = raw.test_x, raw.test_y
        if val_size is not None:
            val_index = stratified_subset(raw.test_y, val_size, rng(2))
            val_x, val_y = val_x[val_index], val_y[val_index]
            coarse_val = None if coarse_val is None else coarse_val[val_index]
        val_size_out = val_size

    train_index = pool
    if train_size is not None:
        base = np.arange(n_train) if pool is None else pool
        if train_size > len(base):
            raise ParameterError(
                f"train_size={train_size} is more than the {len(base)} training images of "
                f"{info.name} available"
            )
        train_index = base[stratified_subset(raw.train_y[base], train_size, rng(1))]
    if train_index is None:
        train_x, train_y, coarse_tr = raw.train_x, raw.train_y, coarse_train
    else:
        train_x, train_y = raw.train_x[train_index], raw.train_y[train_index]
        coarse_tr = None if coarse_train is None else coarse_train[train_index]

    mean, std = _channel_stats(train_x)

    def tensor(a: np.ndarray | None) -> torch.Tensor | None:
        return None if a is None else torch.from_numpy(np.ascontiguousarray(a))

    return Dataset(
        name=info.name,
        train_x=tensor(train_x),
        train_y=tensor(train_y),
        val_x=tensor(val_x),
        val_y=tensor(val_y),
        n_classes=info.n_classes,
        mean=mean,
        std=std,
        val_source="train-holdout" if val_source == "train" else "test",
        train_size=train_size,
        val_size=val_size_out,
        subset_seed=seed,
        files=dict(raw.md5),
        root=where,
        verified=verify,
        train_index=train_index,
        val_index=val_index,
        coarse_train_y=tensor(coarse_tr),
        coarse_val_y=tensor(coarse_val),
    )


# --- Is a dataset here? (nnlife data NAME) --------------------------------------------------------


def ensure_dataset(
    name: str, root: str | os.PathLike | None = None, download: bool = False, verify: bool = True
) -> Path:
    """Make sure ``name`` is on this machine: find it (download it if asked), check its sums.

    Returns the root folder it was found in. Raises as ``locate_dataset`` and, with ``verify``,
    ``ChecksumError``. Reads each file once (about a second for Fashion-MNIST), parses nothing.
    """
    info = DATASETS[canonical_name(name)]
    located = locate_dataset(info.name, root=root, download=download)
    if verify:
        for f in info.files:
            _read_checked(located.paths[f.name], f, info.name, verify=True)
    return located.root
