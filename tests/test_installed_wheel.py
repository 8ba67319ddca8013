"""nnlife as a user gets it from ``pip install .``: the wheel alone, outside the checkout.

The wheel is built (``pip wheel --no-deps``, from a copy of the source in a temporary folder, so
the checkout gets no build/ or egg-info) and installed with ``--no-deps --no-index`` into a fresh
virtual environment in a temporary folder. Its big dependencies (torch, pandas, Jupyter, ...) are
not downloaded or installed again: a ``.pth`` file appends the site-packages of the environment
running the tests to the fresh one's ``sys.path`` (after the fresh site-packages, so the wheel's
nnlife comes first; the running environment's own .pth files, such as the editable install of the
checkout, are not processed), and ``JUPYTER_PATH`` names a folder that links to that
environment's nbconvert templates (data files that ``pip install`` would have put into the fresh
environment) but not to its kernel specs, so the notebooks run in a kernel of the fresh
environment's Python, with the wheel's nnlife (checked). Then ``nnlife report`` runs from a folder
outside the checkout on a copy of the published samples and must write the HTML pages with their
figures: the analysis notebooks ship inside the package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from nnlife.report.runner import EXPLORER, NOTEBOOKS

# what a copy of the source leaves out: environments, data, build output, caches
SOURCE_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "data",
    "reports",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".nnlife-catalog",
    ".ipynb_checkpoints",
    "tests",
)
PAGES = NOTEBOOKS  # the analysis pages nnlife report renders


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{cmd}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("source") / "nnlife"
    shutil.copytree(ROOT, src, ignore=SOURCE_IGNORE, symlinks=True)
    out = tmp_path_factory.mktemp("wheel")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            out,
            src,
        ]
    )
    wheels = sorted(out.glob("nnlife-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel; returns its bin/ folder."""
    venv = tmp_path_factory.mktemp("user") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    py = venv / "bin" / "python"
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # every site-packages folder the running interpreter sees (its own, and those its .pth files
    # add, as when its environment reuses another one's), never the checkout itself
    reused = [sysconfig.get_paths()["purelib"]]
    reused += [p for p in sys.path if p.endswith("site-packages") and p not in reused and Path(p).is_dir()]
    (site / "zz_nnlife_test_dependencies.pth").write_text("".join(f"{p}\n" for p in reused))
    _run(
        [sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "--quiet", wheel]
    )
    return venv / "bin"


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV"))}
    shared = tmp / "jupyter-path"
    shared.mkdir()
    (shared / "nbconvert").symlink_to(Path(sys.prefix) / "share" / "jupyter" / "nbconvert")
    env["JUPYTER_PATH"] = str(shared)
    env["JUPYTER_DATA_DIR"] = str(tmp / "jupyter-data")  # no kernels of the person's own
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "jupyter-runtime")
    env["IPYTHONDIR"] = str(tmp / "ipython")
    env["PATH"] = os.pathsep.join(
        p
        for p in env.get("PATH", "").split(os.pathsep)
        if Path(p).resolve() != Path(sys.executable).parent.resolve()
    )
    return env


def test_the_wheel_ships_the_notebooks(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    notebooks = sorted(n for n in names if n.endswith(".ipynb"))
    assert {Path(n).stem for n in notebooks} >= {"01-generate-batch", *PAGES, EXPLORER}, names
    assert all(n.startswith("nnlife/") for n in notebooks)
    assert not [n for n in names if n.startswith(("tests/", "data/", "reports/"))]


def test_report_from_the_installed_package(installed, tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    samples = tmp_path / "samples" / "original-format"
    shutil.copytree(FIXTURES / "original-format", samples)
    env = _env(tmp_path)
    where = _run(
        [
            installed / "python",
            "-c",
            "import nnlife; from jupyter_client.kernelspec import KernelSpecManager as K\n"
            "print(nnlife.__file__); print(K().get_kernel_spec('python3').argv[0])",
        ],
        cwd=cwd,
        env=env,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(installed.parent), where  # the wheel's nnlife, not the checkout's
    assert Path(where[1]) == installed / "python", where  # and the notebooks' kernel too
    out = tmp_path / "pages"
    _run([installed / "nnlife", "report", samples, "--out", out], cwd=cwd, env=env, timeout=900)
    for page in PAGES:
        html = (out / f"{page}.html").read_text()
        figures = re.findall(r'<img[^>]*src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', html)
        assert len(figures) >= (3 if page.startswith(("02-", "03-")) else 1), (page, len(figures))
        assert "Traceback (most recent call last)" not in html
