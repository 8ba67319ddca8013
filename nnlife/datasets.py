"""The dataset registry: everything nnlife knows about its three datasets, in one place (no torch).

For each dataset: the canonical spelling (the published tables' ``dataset`` column), the input
shape and class count a network must fit, the sizes of the official splits, the official files
with their MD5 sums and where torchvision puts them. Also the one name matcher that every entry
point uses (``canonical_name``) and the one rule for the size of a validation holdout taken out
of the training split (``holdout_size``).

Finding the files on disk and reading them is the generation side's job
(``nnlife.generate.locate`` and ``nnlife.generate.data``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ParameterError, SpecError


@dataclass(frozen=True)
class DataFile:
    """One official file of a dataset."""

    name: str  # official file name, uncompressed ("train-images-idx3-ubyte", "train_32x32.mat")
    md5: str  # MD5 (hex) of the official, uncompressed content
    split: str  # "train" or "test": the official split the file belongs to
    part: str  # "images", "labels" or "both" (a file holding images and labels)


@dataclass(frozen=True)
class DatasetInfo:
    """What nnlife knows about one dataset: shape, classes, files and where torchvision puts them."""

    name: str  # canonical spelling, as in the original dataset's `dataset` column
    n_classes: int  # number of classes (labels are 0..n_classes-1)
    input_shape: tuple[int, int, int]  # channels, height, width (pixels)
    n_train: int  # images in the official training split
    n_test: int  # images in the official test split
    subdir: str  # folder of the files under a root, in torchvision's layout ("" = the root itself)
    gzip_ok: bool  # whether "<name>.gz" is accepted in place of "<name>"
    files: tuple[DataFile, ...]  # the official files
    file_format: str  # "idx" (LeCun's), "cifar-python" (pickled dicts) or "svhn-mat" (MATLAB v5)
    torchvision_class: str  # name of the torchvision.datasets class that downloads it


# Fashion-MNIST sums are those of the decompressed official IDX files (they equal what torchvision
# checks after extraction). CIFAR-100 and SVHN sums are the per-file sums in torchvision's
# CIFAR100.train_list/test_list and SVHN.split_list (torchvision 0.29, datasets/cifar.py, svhn.py).
DATASETS: dict[str, DatasetInfo] = {
    "FashionMNIST": DatasetInfo(
        name="FashionMNIST",
        n_classes=10,
        input_shape=(1, 28, 28),
        n_train=60000,
        n_test=10000,
        subdir="FashionMNIST/raw",
        gzip_ok=True,
        files=(
            DataFile("train-images-idx3-ubyte", "f4a8712d7a061bf5bd6d2ca38dc4d50a", "train", "images"),
            DataFile("train-labels-idx1-ubyte", "9018921c3c673c538a1fc5bad174d6f9", "train", "labels"),
            DataFile("t10k-images-idx3-ubyte", "8181f5470baa50b63fa0f6fddb340f0a", "test", "images"),
            DataFile("t10k-labels-idx1-ubyte", "15d484375f8d13e6eb1aabb0c3f46965", "test", "labels"),
        ),
        file_format="idx",
        torchvision_class="FashionMNIST",
    ),
    "CIFAR100": DatasetInfo(
        name="CIFAR100",
        n_classes=100,
        input_shape=(3, 32, 32),
        n_train=50000,
        n_test=10000,
        subdir="cifar-100-python",
        gzip_ok=False,
        files=(
            DataFile("train", "16019d7e3df5f24257cddd939b257f8d", "train", "both"),
            DataFile("test", "f0ef6b0ae62326f3e7ffdfab6717acfc", "test", "both"),
        ),
        file_format="cifar-python",
        torchvision_class="CIFAR100",
    ),
    "SVHN": DatasetInfo(
        name="SVHN",
        n_classes=10,
        input_shape=(3, 32, 32),
        n_train=73257,
        n_test=26032,
        subdir="",
        gzip_ok=False,
        files=(
            DataFile("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373", "train", "both"),
            DataFile("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3", "test", "both"),
        ),
        file_format="svhn-mat",
        torchvision_class="SVHN",
    ),
}

NAMES = tuple(DATASETS)  # the canonical spellings
DATASET_SHAPES = {name: info.input_shape for name, info in DATASETS.items()}  # (C, H, W) per dataset
N_CLASSES = {name: info.n_classes for name, info in DATASETS.items()}  # classes per dataset

# Holdout size when val_source="train" and val_size is None: the size of the original's
# validation pass (about 10,000 images), at most 1/6 of the training split (exactly 10,000 for
# Fashion-MNIST).
DEFAULT_HOLDOUT = 10000


class UnknownDatasetError(ParameterError, SpecError):
    """A dataset name that none of the known datasets matches (a bad argument and a bad spec)."""


def _key(name: str) -> str:
    return "".join(ch for ch in name.strip().casefold() if ch not in "-_ ")


_BY_KEY = {_key(name): name for name in DATASETS}


def canonical_name(name) -> str:
    """The canonical spelling of a dataset name: "Fashion-MNIST", " fashion_mnist " -> "FashionMNIST".

    The one matcher of every entry point: surrounding space is stripped, letter case folded, and
    '-', '_' and ' ' ignored. Raises ``UnknownDatasetError`` (a ParameterError and a SpecError)
    naming the known datasets when ``name`` is none of them.
    """
    found = _BY_KEY.get(_key(name)) if isinstance(name, str) else None
    if found is None:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(NAMES)}")
    return found


def holdout_size(name: str, val_size: int | None = None) -> int:
    """Images held out of the training split for validation (``val_source="train"``):
    ``val_size`` when given, else min(DEFAULT_HOLDOUT, n_train // 6)."""
    if val_size is not None:
        return val_size
    return min(DEFAULT_HOLDOUT, DATASETS[canonical_name(name)].n_train // 6)


def split_sizes(name: str, val_source: str = "test", val_size: int | None = None) -> tuple[int, int]:
    """(training images available, validation images available) of the official splits for a
    validation source: "test" (the official test split) or "train" (a holdout of the training
    split, ``holdout_size``)."""
    info = DATASETS[canonical_name(name)]
    if val_source == "train":
        held = holdout_size(info.name, val_size)
        return info.n_train - held, held
    return info.n_train, info.n_test


__all__ = [
    "DATASETS",
    "DATASET_SHAPES",
    "DEFAULT_HOLDOUT",
    "N_CLASSES",
    "NAMES",
    "DataFile",
    "DatasetInfo",
    "UnknownDatasetError",
    "canonical_name",
    "holdout_size",
    "split_sizes",
]
