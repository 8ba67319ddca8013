"""The layout keeps the data flow one way: the core imports neither side, analysis never loads
generation code or torch (checked for every module of each side, in a fresh interpreter)."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import nnlife

PACKAGE = Path(nnlife.__file__).parent
SIDES = ("generate", "analyse", "report", "cli")


def _modules(prefix: str = "") -> list[str]:
    """Every module under nnlife/<prefix> (the top-level modules, without sub-packages, for "")."""
    if not prefix:
        return [
            f"nnlife.{m.name}"
            for m in pkgutil.iter_modules([str(PACKAGE)])
            if not m.ispkg and not m.name.startswith("_")
        ]
    found = [f"nnlife.{prefix}"]
    for m in pkgutil.walk_packages([str(PACKAGE / prefix)], prefix=f"nnlife.{prefix}."):
        if not m.name.rsplit(".", 1)[1].startswith("__"):
            found.append(m.name)
    return found


def _importing_each_loads_none_of(modules: list[str], forbidden: tuple[str, ...]) -> None:
    """Import ``modules`` one by one in a fresh interpreter; fail naming the first module after
    whose import a forbidden module (or a sub-module of one) is loaded."""
    code = (
        "import importlib, sys\n"
        f"forbidden = {forbidden!r}\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "    bad = sorted(m for m in sys.modules if m in forbidden or m.startswith(tuple(f + '.' for f in forbidden)))\n"
        "    assert not bad, f'importing {name} loaded {bad[:5]}'\n"
        "print(len(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]


def test_the_sides_are_the_sub_packages_and_the_core_is_flat():
    subpackages = sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE)]) if m.ispkg)
    assert set(SIDES) <= set(subpackages)
    core = _modules()
    assert {
        "nnlife.spec",
        "nnlife.table",
        "nnlife.original",
        "nnlife.columns",
        "nnlife.errors",
        "nnlife.datasets",
        "nnlife.space",
        "nnlife.atomic",
    } <= set(core)
    assert len(_modules("analyse")) >= 10 and len(_modules("generate")) >= 10


def test_the_core_imports_neither_side_nor_torch():
    _importing_each_loads_none_of(_modules(), ("torch",) + tuple(f"nnlife.{s}" for s in SIDES))


@pytest.mark.parametrize("side", ["analyse", "report", "fetch"])
def test_the_analysis_side_never_imports_torch_or_generation_code(side):
    _importing_each_loads_none_of(_modules(side), ("torch", "torchvision", "nnlife.generate", "nnlife.cli"))


def test_the_command_line_starts_without_torch():
    code = (
        "import sys\nfrom nnlife.cli import parser\nparser()\n"
        "assert 'torch' not in sys.modules and not any(m.startswith('nnlife.generate') for m in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]


def test_notebooks_ship_inside_the_package():
    from nnlife.report.runner import EXPLORER, NOTEBOOKS, notebook_dir

    folder = notebook_dir()
    assert folder == PACKAGE / "report" / "notebooks"
    for name in (*NOTEBOOKS, EXPLORER, "01-generate-batch"):
        assert (folder / f"{name}.ipynb").is_file()
    top = PACKAGE.parent / "notebooks"
    if top.exists():  # the checkout's notebooks/ is a link to them
        assert top.is_symlink() and top.resolve() == folder.resolve()
