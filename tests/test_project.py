"""The project's own promises: dependencies declared once, a light and side-effect-free import."""

import subprocess
import sys
import tomllib

import yaml

from conftest import ROOT


def _name(requirement: str) -> str:
    return requirement.split(";")[0].strip().strip('"')


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {_name(r) for r in pip if not r.startswith("-e")}
    assert listed == {_name(r) for r in declared}
    assert "python=3.11" in env["dependencies"]
    assert project["requires-python"].startswith(">=3.11")


def test_torch_ranges_admit_the_local_releases():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = {Requirement(r).name: Requirement(r) for r in project["dependencies"]}
    assert reqs["torch"].specifier.contains("2.14.1")
    assert reqs["torchvision"].specifier.contains("0.29.1")


def test_import_is_light_and_has_no_side_effects(tmp_path):
    code = (
        "import sys, threading, os, random\n"
        "import numpy as np\n"
        "before_np = np.random.get_state()[1].copy(); before_py = random.getstate()\n"
        "import nnlife\n"
        "assert 'torch' not in sys.modules, 'import nnlife imported torch'\n"
        "assert 'pandas' not in sys.modules, 'import nnlife imported pandas'\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert (np.random.get_state()[1] == before_np).all() and random.getstate() == before_py\n"
        "assert os.listdir('.') == []\n"
        "print(nnlife.__version__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == __import__("nnlife").__version__


def test_analysis_side_never_imports_torch(sample_paths):
    code = (
        "import sys, nnlife\n"
        f"life = nnlife.read_lifespan({str(sample_paths[0])!r})\n"
        "life.net.n_params; life.net.flops_per_image\n"
        "assert 'torch' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_public_functions_survive_importing_their_modules():
    import nnlife
    import nnlife.analyse.catalog  # noqa: F401  (the modules that define the public functions)
    import nnlife.analyse.lifecycle  # noqa: F401
    import nnlife.generate.network  # noqa: F401
    import nnlife.generate.reproduce  # noqa: F401

    for name in ("build", "catalog", "lifecycle", "reproduce"):
        assert callable(getattr(nnlife, name)) and getattr(nnlife, name).__name__ == name
