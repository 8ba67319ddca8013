"""Finding a dataset's official files on this machine (or downloading them with torchvision).

Where the files are looked for, in this order (the first place that holds every file wins):
1. the ``root`` argument;
2. the ``NNLIFE_DATA`` environment variable (one folder, or several separated by ``os.pathsep``);
3. ``data/datasets`` under the current working directory, then ``data/datasets`` under the nnlife
   checkout (``REPO_ROOT``, the folder above the package; skipped when it is the same folder);
4. well-known system locations (``SYSTEM_LOCATIONS``): Debian's package ``dataset-fashion-mnist``
   installs the four official Fashion-MNIST files, gzipped, in ``/usr/share/datasets/fashion-mnist``;
5. with ``download=True``: torchvision's own downloader, into ``download_root(root)``.
Under places 1-3 and 5 the files are expected in torchvision's layout (``FashionMNIST/raw/`` with
the IDX files gzipped or not, ``cifar-100-python/train`` and ``test``, ``train_32x32.mat`` and
``test_32x32.mat`` directly in the root), so a folder that torchvision downloaded into works as it
is. When nothing works, ``DatasetNotFoundError`` names the dataset, every place and path looked at,
and the commands that fix it. What the files are (names, sums, layout) is ``nnlife.datasets``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..datasets import DATASETS, DataFile, DatasetInfo, canonical_name
from ..errors import DatasetNotFoundError

ENV_VAR = "NNLIFE_DATA"  # environment variable naming data roots (os.pathsep-separated)
LOCAL_DATA_DIR = Path("data") / "datasets"  # relative to the cwd and to REPO_ROOT
REPO_ROOT = Path(__file__).resolve().parents[2]  # the nnlife checkout (the folder above nnlife/)

# Dataset -> ((folder, what put it there), ...). Files there lie flat (no torchvision layout).
SYSTEM_LOCATIONS: dict[str, tuple[tuple[Path, str], ...]] = {
    "FashionMNIST": ((Path("/usr/share/datasets/fashion-mnist"), "Debian package dataset-fashion-mnist"),),
}

# Dataset -> Debian package that installs it into SYSTEM_LOCATIONS (named in the fix).
DEBIAN_PACKAGES: dict[str, str] = {"FashionMNIST": "dataset-fashion-mnist"}


# --- finding the files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    """One folder to look in."""

    label: str  # where it came from, for the error message ("root argument", "NNLIFE_DATA", ...)
    root: Path  # the root folder
    flat: bool  # True: files directly in root; False: torchvision's layout under root


def _file_dir(info: DatasetInfo, place: _Place) -> Path:
    return place.root if place.flat or not info.subdir else place.root / info.subdir


def _candidates(info: DatasetInfo, place: _Place, f: DataFile) -> list[Path]:
    # Uncompressed first: torchvision keeps both after extracting and the plain file reads faster.
    base = _file_dir(info, place) / f.name
    return [base, base.with_name(f.name + ".gz")] if info.gzip_ok else [base]


def _env_roots() -> list[Path]:
    value = os.environ.get(ENV_VAR, "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def download_root(root: str | os.PathLike | None = None) -> Path:
    """Folder that ``download=True`` downloads into.

    ``root`` if given; else the first folder in ``NNLIFE_DATA``; else ``data/datasets`` under the
    nnlife checkout when nnlife runs from a source checkout (``REPO_ROOT/pyproject.toml`` exists),
    so notebooks running in ``notebooks/`` share it; else ``data/datasets`` under the cwd.
    """
    if root is not None:
        return Path(root).expanduser()
    env = _env_roots()
    if env:
        return env[0]
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / LOCAL_DATA_DIR
    return Path.cwd() / LOCAL_DATA_DIR


def _places(info: DatasetInfo, root: str | os.PathLike | None) -> list[_Place]:
    places: list[_Place] = []
    if root is not None:
        places.append(_Place("root argument", Path(root).expanduser(), False))
    places += [_Place(ENV_VAR, p, False) for p in _env_roots()]
    places.append(_Place(f"{LOCAL_DATA_DIR} under the current directory", Path.cwd() / LOCAL_DATA_DIR, False))
    places.append(_Place(f"{LOCAL_DATA_DIR} under the nnlife checkout", REPO_ROOT / LOCAL_DATA_DIR, False))
    places += [_Place(what, folder, True) for folder, what in SYSTEM_LOCATIONS.get(info.name, ())]
    unique, seen = [], set()
    for p in places:  # the same folder twice (cwd = checkout, say) is looked at once
        key = (os.path.abspath(p.root), p.flat)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _look(info: DatasetInfo, place: _Place) -> tuple[dict[str, Path], list[str]]:
    """Return (file name -> path found, lines saying what is missing) for one place."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for f in info.files:
        cands = _candidates(info, place, f)
        hit = next((c for c in cands if c.is_file()), None)
        if hit is None:
            missing.append(f"missing {cands[0]}" + (" (or .gz)" if len(cands) > 1 else ""))
        else:
            found[f.name] = hit
    return found, missing


@dataclass(frozen=True)
class Located:
    """Where a dataset's files are (returned by ``locate_dataset``)."""

    root: Path  # the root folder the files were found under
    paths: dict[str, Path]  # official file name -> path of the file to read


def _fix_lines(info: DatasetInfo, root: str | os.PathLike | None) -> list[str]:
    lines = []
    if info.name in DEBIAN_PACKAGES:
        lines.append(
            f"on Debian or Ubuntu: sudo apt-get install {DEBIAN_PACKAGES[info.name]}"
            f"   (or, in the nnlife checkout: bash scripts/get-data.sh {info.name})"
        )
    cli_root = f" --root {root}" if root is not None else ""
    py_root = f", root={str(root)!r}" if root is not None else ""
    lines.append(
        f"download it with torchvision (needs the internet): nnlife data --download "
        f"{info.name}{cli_root}   or in Python: nnlife.load_dataset({info.name!r}{py_root}, "
        f"download=True)   (saves under {download_root(root)})"
    )
    layout = f"{info.subdir}/" if info.subdir else "directly in the folder: "
    names = ", ".join(f.name + (" (or .gz)" if info.gzip_ok else "") for f in info.files)
    lines.append(
        f"if you have a copy: put it in torchvision's layout ({layout}{names}) under a folder and "
        f"pass root='that folder' or set {ENV_VAR}=that folder"
    )
    return lines


def locate_dataset(name: str, root: str | os.PathLike | None = None, download: bool = False) -> Located:
    """Find every official file of ``name``; download them with torchvision if asked and needed.

    Returns the first place (in the documented order) that holds every file. Raises
    ``DatasetNotFoundError`` naming the dataset, each place and exact path looked at, and the
    commands that fix it; ``ParameterError`` for an unknown name.
    """
    info = DATASETS[canonical_name(name)]
    report: list[str] = []
    if root is None:
        report.append("root argument: not given")
    env_said = False
    for place in _places(info, root):
        if place.label != "root argument" and not env_said:
            env_said = True
            if not _env_roots():
                report.append(f"{ENV_VAR}: not set")
        found, missing = _look(info, place)
        if not missing:
            return Located(place.root, found)
        where = _file_dir(info, place)
        state = "" if where.is_dir() else " (folder does not exist)"
        report.append(f"{place.label}: {place.root}{state}")
        report += [f"    {m}" for m in missing]
    if download:
        target = download_root(root)
        try:
            _torchvision_download(info, target)
        except Exception as exc:  # no internet, no space, a server error: all reported the same way
            report.append(
                f"download with torchvision.datasets.{info.torchvision_class} into {target}: "
                f"failed: {type(exc).__name__}: {exc}".rstrip()
            )
        else:
            place = _Place("download", target, False)
            found, missing = _look(info, place)
            if not missing:
                return Located(place.root, found)
            report.append(f"download into {target}: finished, but files are still missing")
            report += [f"    {m}" for m in missing]
    else:
        report.append("download: not asked for (download=False)")
    message = [f"Dataset {info.name} was not found. Places looked at, in order:"]
    for line in report:  # places flush left, their missing files and multi-line errors indented
        first, *rest = line.split("\n")
        message.append(f"  {first}" if first.startswith("    ") else f"  - {first}")
        message += [f"      {more}" for more in rest]
    message.append("To fix it, do one of:")
    message += [f"  - {line}" for line in _fix_lines(info, root)]
    raise DatasetNotFoundError("\n".join(message))


def _torchvision_download(info: DatasetInfo, target: Path) -> None:
    """Fetch the official files into ``target`` in torchvision's layout, with its own downloader.

    torchvision checks the MD5 of what it downloads; nnlife checks the files again when it
    reads them.
    """
    import torchvision.datasets as tvd

    target.mkdir(parents=True, exist_ok=True)
    cls = getattr(tvd, info.torchvision_class)
    if info.name == "SVHN":
        for split in ("train", "test"):
            cls(str(target), split=split, download=True)
    else:
        # FashionMNIST downloads all four files and CIFAR100 the whole archive, whatever `train`.
        cls(str(target), train=True, download=True)


__all__ = [
    "ENV_VAR",
    "LOCAL_DATA_DIR",
    "REPO_ROOT",
    "SYSTEM_LOCATIONS",
    "DEBIAN_PACKAGES",
    "Located",
    "download_root",
    "locate_dataset",
]
