"""Datasets: readers on real files, finding the files, checksums, subsets, cache, messages.

Real data: the full Fashion-MNIST from Debian's package dataset-fashion-mnist (installed by
`bash scripts/get-data.sh`, which `make test` runs), the CIFAR-100 sample pickles and the PNG
samples in tests/fixtures. SVHN .mat files are written here in the official layout.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

import nnlife
from nnlife import data, readers
from nnlife.errors import ChecksumError, DatasetNotFoundError, ParameterError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CIFAR_SAMPLE = FIXTURES / "cifar-100-python-sample"
PNG = FIXTURES / "png-samples"
DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")
FMNIST_FILES = [f.name for f in data.DATASETS["FashionMNIST"].files]


def _official_fashion_mnist() -> tuple[Path, Path] | None:
    """(root, folder of the four official .gz files) of the real Fashion-MNIST on this machine.

    Debian's package where it is installed (the machines this project runs on); elsewhere the
    copy that `bash scripts/get-data.sh` had torchvision download (FashionMNIST/raw keeps the
    .gz files beside the extracted ones). Looked up once, before any test changes the settings.
    """
    if all((DEBIAN_FMNIST / f"{n}.gz").is_file() for n in FMNIST_FILES):
        return DEBIAN_FMNIST, DEBIAN_FMNIST
    try:
        located = data.locate_dataset("FashionMNIST")
    except DatasetNotFoundError:
        return None
    raw = located.paths[FMNIST_FILES[0]].parent
    return (located.root, raw) if all((raw / f"{n}.gz").is_file() for n in FMNIST_FILES) else None


OFFICIAL_FMNIST = _official_fashion_mnist()
# root= for loading it: None (found with no argument) for Debian's package, else its folder.
FMNIST_ROOT = None if OFFICIAL_FMNIST is None or OFFICIAL_FMNIST[0] == DEBIAN_FMNIST else OFFICIAL_FMNIST[0]


def _isolate(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    """No NNLIFE_DATA; cwd and the checkout's data/datasets point at empty folders under tmp."""
    mp.delenv(data.ENV_VAR, raising=False)
    (tmp / "cwd").mkdir(exist_ok=True)
    mp.chdir(tmp / "cwd")
    mp.setattr(data, "REPO_ROOT", tmp / "repo")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    _isolate(monkeypatch, tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def fmnist_gz() -> Path:
    """Folder holding the four official Fashion-MNIST files, gzipped."""
    assert OFFICIAL_FMNIST is not None, (
        f"the full Fashion-MNIST is not on this machine (Debian's dataset-fashion-mnist installs it "
        f"in {DEBIAN_FMNIST}): run `bash scripts/get-data.sh` (make test does)"
    )
    return OFFICIAL_FMNIST[1]


@pytest.fixture(scope="module")
def fmnist(fmnist_gz, tmp_path_factory):
    """The full Fashion-MNIST as load_dataset finds it with no argument (the Debian package)."""
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("fmnist"))
        return nnlife.load_dataset("FashionMNIST", root=FMNIST_ROOT)


def _cifar_root(tmp: Path) -> Path:
    """A root holding the real CIFAR-100 sample pickles in torchvision's layout."""
    root = tmp / "cifar-root"
    (root / "cifar-100-python").mkdir(parents=True)
    for name in ("train", "test"):
        shutil.copy(CIFAR_SAMPLE / name, root / "cifar-100-python" / name)
    return root


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


# --- Fashion-MNIST, full, through the Debian package ----------------------------------------------


def test_fashion_mnist_full_from_debian_package_with_no_argument(fmnist):
    assert fmnist.name == "FashionMNIST"
    assert fmnist.root == str(OFFICIAL_FMNIST[0])
    assert fmnist.train_x.shape == (60000, 1, 28, 28) and fmnist.train_x.dtype == torch.uint8
    assert fmnist.val_x.shape == (10000, 1, 28, 28) and fmnist.val_x.dtype == torch.uint8
    assert fmnist.train_y.dtype == torch.int64 and fmnist.val_y.dtype == torch.int64
    assert torch.bincount(fmnist.train_y).tolist() == [6000] * 10
    assert torch.bincount(fmnist.val_y).tolist() == [1000] * 10
    assert fmnist.n_classes == 10 and fmnist.input_shape == (1, 28, 28)
    assert fmnist.val_source == "test" and fmnist.verified
    assert fmnist.train_size is None and fmnist.val_size is None and fmnist.train_index is None
    # The decompressed content is the official one (README of the fixtures lists these sums).
    assert fmnist.files["t10k-images-idx3-ubyte"] == "8181f5470baa50b63fa0f6fddb340f0a"
    # Per-channel statistics of the training images, recomputed naively in float64.
    pixels = fmnist.train_x.double() / 255
    assert fmnist.mean[0] == pytest.approx(pixels.mean().item(), abs=1e-9)
    assert fmnist.std[0] == pytest.approx(pixels.std(unbiased=False).item(), abs=1e-9)
    assert fmnist.mean[0] == pytest.approx(0.2860, abs=1e-4)  # the widely quoted value


def test_fashion_mnist_first_20_test_images_equal_the_png_samples(fmnist):
    pngs = sorted((PNG / "fashionmnist-test").glob("fashionMNIST_*.png"))
    assert len(pngs) == 20
    for path in pngs:
        _, index, label = path.stem.split("_")
        i = int(index)
        assert np.array_equal(fmnist.val_x[i, 0].numpy(), _png(path)), path.name
        assert fmnist.val_y[i].item() == int(label), path.name


def test_same_call_returns_the_same_object_and_clear_cache_forgets(fmnist, isolated):
    assert nnlife.load_dataset("fashionmnist", root=FMNIST_ROOT) is fmnist  # case-insensitive, cached
    root = _cifar_root(isolated)
    first = data.load_dataset("CIFAR100", root=root, verify=False)
    assert data.load_dataset("cifar100", root=root, verify=False) is first
    data.clear_cache()
    again = data.load_dataset("CIFAR100", root=root, verify=False)
    assert again is not first and torch.equal(again.val_x, first.val_x)


def test_torchvision_layout_plain_and_gz_files_load_the_same_data(fmnist, fmnist_gz, isolated):
    raw = isolated / "tv" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for n in FMNIST_FILES:
        if n.startswith("t10k"):  # plain, as torchvision extracts them
            (raw / n).write_bytes(gzip.decompress((fmnist_gz / f"{n}.gz").read_bytes()))
        else:  # gzipped only
            (raw / f"{n}.gz").symlink_to(fmnist_gz / f"{n}.gz")
    d = data.load_dataset("FashionMNIST", root=isolated / "tv", val_size=100)
    assert d.root == str(isolated / "tv")
    assert torch.equal(d.val_x, fmnist.val_x[torch.from_numpy(d.val_index)])
    assert d.files == fmnist.files


def test_a_tampered_file_fails_the_checksum_naming_the_file(fmnist_gz, isolated):
    raw = isolated / "tv" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for n in FMNIST_FILES:
        (raw / f"{n}.gz").symlink_to(fmnist_gz / f"{n}.gz")
    labels = bytearray(gzip.decompress((fmnist_gz / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[100] = (labels[100] + 1) % 10  # one label changed: still a valid IDX file
    (raw / "t10k-labels-idx1-ubyte.gz").unlink()
    (raw / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    with pytest.raises(ChecksumError) as err:
        data.load_dataset("FashionMNIST", root=isolated / "tv")
    message = str(err.value)
    assert str(raw / "t10k-labels-idx1-ubyte") in message
    assert "15d484375f8d13e6eb1aabb0c3f46965" in message and "verify=False" in message
    # Trusted explicitly, the same file loads, and its own sum is recorded.
    d = data.load_dataset("FashionMNIST", root=isolated / "tv", verify=False)
    assert d.files["t10k-labels-idx1-ubyte"] == hashlib.md5(bytes(labels)).hexdigest()
    assert not d.verified


# --- subsets --------------------------------------------------------------------------------------


def test_subsets_are_stratified_reproducible_and_index_the_full_split(fmnist):
    d = data.load_dataset("FashionMNIST", root=FMNIST_ROOT, train_size=1000, val_size=500, seed=3)
    assert torch.bincount(d.train_y).tolist() == [100] * 10
    assert torch.bincount(d.val_y).tolist() == [50] * 10
    assert torch.equal(d.train_x, fmnist.train_x[torch.from_numpy(d.train_index)])
    assert torch.equal(d.val_y, fmnist.val_y[torch.from_numpy(d.val_index)])
    assert (np.diff(d.train_index) > 0).all()  # sorted, no repeats
    assert (d.train_size, d.val_size, d.subset_seed) == (1000, 500, 3)
    # The same draw again (fresh generators), and a different one for another seed.
    raw = data._RAW_CACHE[("FashionMNIST", d.root, True)]
    again = data._make_dataset(data.DATASETS["FashionMNIST"], raw, d.root, True, 1000, 500, 3, "test")
    assert np.array_equal(again.train_index, d.train_index) and np.array_equal(again.val_index, d.val_index)
    other = data.load_dataset("FashionMNIST", root=FMNIST_ROOT, train_size=1000, val_size=500, seed=4)
    assert not np.array_equal(other.train_index, d.train_index)
    # The training draw does not depend on whether a validation subset was drawn.
    no_val = data.load_dataset("FashionMNIST", root=FMNIST_ROOT, train_size=1000, seed=3)
    assert np.array_equal(no_val.train_index, d.train_index)
    # mean/std are those of the subset, not of the full split.
    assert d.mean[0] == pytest.approx((d.train_x.double() / 255).mean().item(), abs=1e-9)


def test_holdout_from_the_training_split_is_disjoint_and_stratified(fmnist):
    d = data.load_dataset(
        "FashionMNIST", root=FMNIST_ROOT, val_source="train", val_size=6000, train_size=5400, seed=1
    )
    assert d.val_source == "train-holdout"
    assert torch.bincount(d.val_y).tolist() == [600] * 10
    assert torch.bincount(d.train_y).tolist() == [540] * 10
    assert not set(d.val_index.tolist()) & set(d.train_index.tolist())
    assert torch.equal(d.val_x, fmnist.train_x[torch.from_numpy(d.val_index)])
    full = data.load_dataset("FashionMNIST", root=FMNIST_ROOT, val_source="train", seed=1)  # default holdout
    assert len(full.val_y) == 10000 and len(full.train_y) == 50000
    assert sorted(full.val_index.tolist() + full.train_index.tolist()) == list(range(60000))


def test_stratified_subset_uses_largest_remainders_for_an_exact_total():
    labels = np.array([0] * 5 + [1] * 3 + [2] * 2)
    # Exact shares 2.5, 1.5, 1.0: floors 2, 1, 1; the one image left goes to class 0 (tie, lower id).
    picked = data.stratified_subset(labels, 5, np.random.default_rng(0))
    assert np.bincount(labels[picked], minlength=3).tolist() == [3, 1, 1]
    assert len(set(picked.tolist())) == 5
    picked7 = data.stratified_subset(labels, 7, np.random.default_rng(0))  # 3.5, 2.1, 1.4
    assert np.bincount(labels[picked7], minlength=3).tolist() == [4, 2, 1]
    with pytest.raises(ParameterError):
        data.stratified_subset(labels, 11, np.random.default_rng(0))


def test_bad_arguments_are_parameter_errors(fmnist):
    with pytest.raises(ParameterError, match="known datasets: FashionMNIST, CIFAR100, SVHN"):
        data.load_dataset("MNIST")
    with pytest.raises(ParameterError, match="train_size"):
        data.load_dataset("FashionMNIST", root=FMNIST_ROOT, train_size=0)
    with pytest.raises(ParameterError, match="60000"):
        data.load_dataset("FashionMNIST", root=FMNIST_ROOT, train_size=60001)
    with pytest.raises(ParameterError, match="val_source"):
        data.load_dataset("FashionMNIST", root=FMNIST_ROOT, val_source="valid")


# --- CIFAR-100 reader on the real sample pickles --------------------------------------------------


def test_cifar100_sample_pickles_channel_order_and_labels(isolated):
    d = data.load_dataset("CIFAR100", root=_cifar_root(isolated), verify=False)
    assert d.train_x.shape == (5, 3, 32, 32) and d.train_x.dtype == torch.uint8
    assert d.n_classes == 100 and d.input_shape == (3, 32, 32) and len(d.mean) == 3
    assert d.val_y.tolist() == [49, 33, 72, 51, 71]
    assert d.train_y.tolist() == [19, 29, 0, 11, 1]
    # Coarse labels kept: mountain, forest, sea -> 10 (large natural outdoor scenes), seal -> 0
    # (aquatic mammals), mushroom -> 4 (fruit and vegetables).
    assert d.coarse_val_y.tolist() == [10, 10, 0, 4, 10]
    assert d.coarse_train_y.tolist() == [11, 15, 4, 14, 1]
    # Test image 0 equals cifar100_00_49.png (this pins R, G, B order); 1-4 equal theirs too.
    for i, label in enumerate([49, 33, 72, 51, 71]):
        png = _png(PNG / "cifar100-test" / f"cifar100_{i:02d}_{label}.png")
        assert np.array_equal(d.val_x[i].permute(1, 2, 0).numpy(), png), i


def test_cifar100_sample_has_no_official_sum_so_verify_refuses_it(isolated):
    root = _cifar_root(isolated)
    with pytest.raises(ChecksumError, match="cifar-100-python/train"):
        data.load_dataset("CIFAR100", root=root)


def test_cifar_reader_accepts_str_keys_and_refuses_foreign_globals():
    content = (CIFAR_SAMPLE / "test").read_bytes()
    raw = pickle.loads(content)
    as_str = {k.decode(): v for k, v in raw.items()}  # the official files' key kind
    as_str["filenames"] = [f"img{i}.png" for i in range(5)]
    parsed = readers.parse_cifar_pickle(pickle.dumps(as_str, protocol=2), "official-like")
    expected = readers.parse_cifar_pickle(content, "sample")
    assert np.array_equal(parsed["x"], expected["x"])
    assert parsed["fine_labels"].tolist() == [49, 33, 72, 51, 71]

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(readers.DatasetFormatError, match="builtins.print is not allowed"):
        readers.parse_cifar_pickle(pickle.dumps({"data": Evil()}), "evil")


# --- SVHN reader on .mat files written here in the official layout --------------------------------


def _write_svhn(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write train_32x32.mat / test_32x32.mat as the official ones: X 32x32x3xN, y Nx1, 10 = 0."""
    rng = np.random.default_rng(5)
    written = {}
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 30), ("test", 20)):
        nchw = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        digits = np.arange(n) % 10
        labels = np.where(digits == 0, 10, digits).astype(np.uint8).reshape(n, 1)
        X = nchw.transpose(2, 3, 1, 0)  # (N, C, H, W) -> (H, W, C, N)
        scipy.io.savemat(root / f"{split}_32x32.mat", {"X": X, "y": labels})
        written[split] = (nchw, digits)
    return written


def test_svhn_mat_files_in_the_official_layout(isolated, monkeypatch):
    root = isolated / "svhn"
    written = _write_svhn(root)
    x, y = readers.parse_svhn_mat((root / "test_32x32.mat").read_bytes(), "test")
    assert np.array_equal(x, written["test"][0]) and y.tolist() == written["test"][1].tolist()
    assert y[0] == 0 and y.dtype == np.int64  # label 10 in the file is the digit 0
    # The files are not the official ones: refused unless trusted, or unless their sums are known.
    with pytest.raises(ChecksumError, match="train_32x32.mat"):
        data.load_dataset("svhn", root=root)
    d = data.load_dataset("svhn", root=root, verify=False, train_size=20)
    assert d.name == "SVHN" and d.val_x.shape == (20, 3, 32, 32)
    assert torch.bincount(d.train_y).tolist() == [2] * 10
    assert torch.equal(d.val_x, torch.from_numpy(written["test"][0]))
    sums = {
        f: hashlib.md5((root / f).read_bytes()).hexdigest() for f in ("train_32x32.mat", "test_32x32.mat")
    }
    files = tuple(data.DataFile(f.name, sums[f.name], f.split, f.part) for f in data.DATASETS["SVHN"].files)
    monkeypatch.setitem(data.DATASETS, "SVHN", dataclasses.replace(data.DATASETS["SVHN"], files=files))
    assert data.load_dataset("SVHN", root=root).verified


# --- where the files are looked for, and the message when they are nowhere ------------------------


def test_roots_are_tried_in_the_documented_order(isolated, monkeypatch):
    arg, env = _cifar_root(isolated / "a"), _cifar_root(isolated / "b")
    local = _cifar_root(isolated / "c")
    shutil.copytree(local, isolated / "cwd" / "data" / "datasets")
    monkeypatch.setenv(data.ENV_VAR, str(env))
    assert data.load_dataset("CIFAR100", root=arg, verify=False).root == str(arg)
    assert data.load_dataset("CIFAR100", verify=False).root == str(env)
    monkeypatch.delenv(data.ENV_VAR)
    assert data.load_dataset("CIFAR100", verify=False).root == str(isolated / "cwd" / "data" / "datasets")
    # An argument folder without the files falls through to the next place.
    fallen = data.load_dataset("CIFAR100", root=isolated / "empty", verify=False)
    assert fallen.root == str(isolated / "cwd" / "data" / "datasets")


def test_missing_dataset_message_names_every_place_and_the_fixes(isolated, monkeypatch, capsys):
    debian = ((isolated / "usr-share", "Debian package dataset-fashion-mnist"),)
    monkeypatch.setitem(data.SYSTEM_LOCATIONS, "FashionMNIST", debian)
    monkeypatch.setenv(data.ENV_VAR, str(isolated / "env"))
    with pytest.raises(DatasetNotFoundError) as err:
        data.load_dataset("fashionMNIST", root=isolated / "arg")
    message = str(err.value)
    assert message.startswith("Dataset FashionMNIST was not found")
    for folder in (
        isolated / "arg",
        isolated / "env",
        isolated / "cwd" / "data" / "datasets",
        isolated / "repo" / "data" / "datasets",
    ):
        assert str(folder / "FashionMNIST" / "raw" / "train-images-idx3-ubyte") in message
    assert str(isolated / "usr-share" / "t10k-labels-idx1-ubyte") in message
    assert "download: not asked for" in message
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert f"load_dataset('FashionMNIST', root={str(isolated / 'arg')!r}, download=True)" in message
    assert f"--download FashionMNIST --root {isolated / 'arg'}" in message
    assert "NNLIFE_DATA=" in message and "root=" in message
    # The command-line check prints the same message and exits 2.
    monkeypatch.delenv(data.ENV_VAR)
    assert data.main(["FashionMNIST"]) == 2
    assert "Dataset FashionMNIST was not found" in capsys.readouterr().err
    # CIFAR-100 has no Debian package: the fix does not offer one.
    with pytest.raises(DatasetNotFoundError) as err:
        data.load_dataset("CIFAR100")
    assert "apt-get" not in str(err.value) and "cifar-100-python/test" in str(err.value)


def test_download_uses_torchvision_and_then_finds_the_files(fmnist_gz, isolated, monkeypatch, capsys):
    import torchvision.datasets as tvd

    calls = []

    class FakeFashionMNIST:  # writes what torchvision's downloader leaves: raw/ with .gz and plain
        def __init__(self, root, train=True, download=False):
            calls.append((root, train, download))
            raw = Path(root) / "FashionMNIST" / "raw"
            raw.mkdir(parents=True, exist_ok=True)
            for n in FMNIST_FILES:
                shutil.copy(fmnist_gz / f"{n}.gz", raw / f"{n}.gz")

    monkeypatch.setattr(tvd, "FashionMNIST", FakeFashionMNIST)
    monkeypatch.setitem(data.SYSTEM_LOCATIONS, "FashionMNIST", ())
    (isolated / "repo").mkdir()
    (isolated / "repo" / "pyproject.toml").write_text("")
    target = isolated / "repo" / "data" / "datasets"  # the default: the checkout's data/datasets
    assert data.download_root() == target
    assert data.main(["--download", "FashionMNIST"]) == 0
    assert calls == [(str(target), True, True)]
    assert f"FashionMNIST: found in {target} (checksums OK)" in capsys.readouterr().out
    d = data.load_dataset("FashionMNIST", val_size=10)  # no download needed any more
    assert d.root == str(target) and len(calls) == 1

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no network")

    monkeypatch.setattr(tvd, "CIFAR100", offline)
    with pytest.raises(DatasetNotFoundError, match="CIFAR100 into .*failed: RuntimeError: Error downloading"):
        data.load_dataset("CIFAR100", download=True)


def test_idx_reader_checks_the_header_against_the_size(fmnist_gz):
    content = gzip.decompress((fmnist_gz / "t10k-labels-idx1-ubyte.gz").read_bytes())
    labels = readers.parse_idx(content, "labels")
    assert labels.shape == (10000,) and labels.flags.writeable
    assert np.array_equal(readers.parse_idx(readers.decompress(gzip.compress(content))), labels)
    with pytest.raises(readers.DatasetFormatError, match="cut short"):
        readers.parse_idx(content[:-1], "t10k-labels-idx1-ubyte")
    with pytest.raises(readers.DatasetFormatError, match="not a valid gzip"):
        readers.decompress(gzip.compress(content)[:-20], "x.gz")
