"""notebooks/01-generate-batch.ipynb: papermill end to end on real Fashion-MNIST with tiny
parameters (2 networks, 1 epoch, small subsets, 2 workers), a second run that trains nothing,
and the stored notebook's form (no outputs, a parameters cell of typed, commented literals)."""

import ast

import nbformat
import papermill as pm

import nnlife
from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "01-generate-batch.ipynb"
PARAMETERS = (
    "dataset",
    "space",
    "n_networks",
    "seed",
    "epochs",
    "seeds_per_network",
    "train_size",
    "val_size",
    "workers",
    "scheduler",
    "device",
    "out_dir",
)


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_the_notebook_generates_a_real_batch_and_a_second_run_trains_nothing(tmp_path):
    out = tmp_path / "nb-fmnist-small-seed0"
    params = dict(n_networks=2, epochs=1, train_size=600, val_size=200, workers=2, out_dir=str(out))
    first = pm.execute_notebook(
        str(NOTEBOOK),
        str(tmp_path / "run1.ipynb"),
        parameters=params,
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
    )
    text = outputs_text(first)
    assert "2 lifespans in" in text and "2 trained now" in text
    images = [o for c in first.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 1  # the curves figure
    tables = sorted(out.glob("*.txt"))
    assert len(tables) == 2 and (out / "manifest.json").exists()
    for path in tables:
        life = nnlife.read_lifespan(path)
        assert len(life.curve) == 2 and life.dataset == "FashionMNIST" and life.train.train_size == 600
    stamps = {p: p.stat().st_mtime_ns for p in tables}
    second = pm.execute_notebook(
        str(NOTEBOOK),
        str(tmp_path / "run2.ipynb"),
        parameters=params,
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
    )
    assert "0 trained now" in outputs_text(second)
    assert {p: p.stat().st_mtime_ns for p in sorted(out.glob("*.txt"))} == stamps


def test_the_stored_notebook_has_no_outputs_and_a_documented_parameters_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert not any("def " in c.source or "%cd" in c.source or "sys.path" in c.source for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0]
    lines = tagged[0].source.splitlines()
    for line, statement in zip(lines, ast.parse(tagged[0].source).body):
        assert isinstance(statement, ast.AnnAssign), line  # typed
        assert isinstance(statement.value, ast.Constant), line  # a literal
        assert "  # " in line, line  # commented
    inferred = pm.inspect_notebook(str(NOTEBOOK))  # what papermill --help-notebook lists
    assert tuple(inferred) == PARAMETERS
    assert all(p["help"] for p in inferred.values())
    assert inferred["dataset"]["default"] == '"FashionMNIST"' and inferred["space"]["default"] == '"small"'
