"""Smoke test of the benchmarks (bench/): every script runs on tiny inputs and writes every key.

``python bench/run.py --smoke`` runs the three benchmark scripts in their smallest mode (a few
hundred real Fashion-MNIST images, one repeat, 30 synthetic tables, in-process Dask clusters).
Nothing here is timed: the figures of a smoke run mean nothing; the test checks that the scripts
work end to end and that benchmarks.json and benchmarks.md hold what issue 7 asks for.
"""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "bench" / "run.py"


def _bench_run_module():
    spec = importlib.util.spec_from_file_location("nnlife_bench_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out, json.loads((out / "benchmarks.json").read_text()), (out / "benchmarks.md").read_text()


def _lightning_installed() -> bool:
    return importlib.util.find_spec("lightning") is not None


def test_every_issue_key_is_a_number(smoke):
    _, doc, _ = smoke
    keys = _bench_run_module().KEYS
    assert set(keys) == {
        "ratio_vs_dataloader",
        "ratio_vs_lightning",
        "peak_fraction_small",
        "peak_fraction_paper",
        "eval_overhead_points",
        "scaling_2_workers",
        "catalog_6000_s",
        "catalog_6000_cached_s",
        "fits_6000_s",
        # issue 16: the full-size run's ratios for both networks
        "ratio_vs_dataloader_paper",
        "ratio_vs_lightning_paper",
        "ratio_vs_dataloader_small",
        "ratio_vs_lightning_small",
    }
    for key in keys:
        assert key in doc and key in doc["figures"], key
        value = doc[key]
        if key.startswith("ratio_vs_lightning") and not _lightning_installed():
            assert value is None  # Lightning is an optional bench dependency
            continue
        assert isinstance(value, (int, float)) and math.isfinite(value), (key, value)
    assert doc["ratio_vs_dataloader"] > 0 and doc["fits_6000_s"] > 0
    assert 0 < doc["peak_fraction_small"] and 0 < doc["peak_fraction_paper"]


def test_provenance_and_targets(smoke):
    _, doc, _ = smoke
    assert doc["mode"] == "smoke"
    assert "--smoke" in doc["command"]
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["cpu"]
    for package in ("python", "torch", "numpy", "scipy", "pandas", "dask", "nnlife"):
        assert doc["versions"][package], package
    assert doc["targets"]["ratio_vs_dataloader"]["value"] == 1.4
    assert doc["targets"]["catalog_6000_cached_s"]["op"] == "<="
    assert set(doc["runs"]) == set(_bench_run_module().PARTS)
    assert all(r["returncode"] == 0 for r in doc["runs"].values())
    # the parts' details: the two networks, both worker counts, the synthetic tables
    assert set(doc["parts"]["train_throughput"]["networks"]) == {"small", "paper"}
    assert set(doc["parts"]["train_full_size"]["split"]) == {"small", "paper"}
    assert set(doc["parts"]["malloc"]["medians"]) == {"dask_default", "nnlife"}
    assert {"1 worker", "2 workers"} <= set(doc["parts"]["scaling"]["medians"])
    assert doc["parts"]["analysis_scale"]["catalog_rows"] == doc["parts"]["analysis_scale"]["tables"]


def test_markdown_report(smoke):
    _, doc, md = smoke
    for key in _bench_run_module().KEYS:
        assert f"`{key}`" in md, key
    for section in (
        "## Machine",
        "## 1. Training throughput",
        "## 3. Scale-out",
        "## 4. Analysis at dataset scale",
        "## 2. Cost of half-epoch recording",
        "## 5. GPU",
        "## 2b. Training throughput on full-size lifespans",
        "## 3b. The malloc tax",
    ):
        assert section in md, section
    assert "python bench/train_throughput.py --mode smoke" in md  # the command of each part
    assert "python bench/train_full_size.py --mode smoke" in md
    if not doc["gpu"]["available"]:
        assert "No GPU was measured" in md


def test_a_run_of_some_parts_keeps_the_others(smoke, tmp_path):
    """``--parts`` merges into the report already there: the other parts' figures and sections
    stay as they were (here: a copy of the smoke report, one cheap part rerun alone)."""
    import shutil

    out, doc, _ = smoke
    for name in ("benchmarks.json", "benchmarks.md"):
        shutil.copy(out / name, tmp_path / name)
    # figures of an earlier run that belong to no part now survive the merge (they were dropped)
    report = json.loads((tmp_path / "benchmarks.json").read_text())
    report["extra_by_part"]["(earlier run)"] = {"an_earlier_figure": 1.5}
    # a kept part measured on another machine, with another torch, says so beside the machine table
    scaling = report["runs"]["scaling"]
    assert scaling["machine"] == report["machine"] and scaling["versions"] == report["versions"]
    scaling["machine"] = {**scaling["machine"], "cpu": "Another CPU"}
    scaling["versions"] = {**scaling["versions"], "torch": "0.0"}
    (tmp_path / "benchmarks.json").write_text(json.dumps(report))
    # a note merged into a kept part's section by hand survives the merge
    md = (tmp_path / "benchmarks.md").read_text().splitlines()
    at = next(i for i, line in enumerate(md) if line.startswith("## ") and "`bench/scaling.py`" in line)
    md.insert(at + 1, "\nA note merged here by hand.")
    (tmp_path / "benchmarks.md").write_text("\n".join(md) + "\n")
    cmd = [sys.executable, str(RUN), "--smoke", "--out", str(tmp_path), "--parts", "analysis_scale"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    merged = json.loads((tmp_path / "benchmarks.json").read_text())
    parts = _bench_run_module().PARTS
    assert merged["kept_from"]["parts"] == [p for p in parts if p != "analysis_scale"]
    for key in ("ratio_vs_dataloader", "peak_fraction_paper", "scaling_2_workers"):
        assert merged[key] == doc[key], key
    assert set(merged["runs"]) == set(doc["runs"])
    assert merged["extra_by_part"]["(earlier run)"] == {"an_earlier_figure": 1.5}
    assert merged["extra_figures"]["an_earlier_figure"] == 1.5
    assert merged["runs"]["scaling"]["machine"]["cpu"] == "Another CPU"
    assert merged["runs"]["analysis_scale"]["machine"]["cpu"] == merged["machine"]["cpu"]
    text = (tmp_path / "benchmarks.md").read_text()
    for section in (
        "## 1. Training throughput",
        "## 2b. Training throughput on full-size lifespans",
        "## 3b. The malloc tax",
        "## 4. Analysis at dataset scale",
    ):
        assert section in text, section
    assert "A note merged here by hand." in text
    kept = [line for line in text.splitlines() if line.startswith("Kept sections measured elsewhere")]
    assert len(kept) == 1 and "scaling: " in kept[0] and "Another CPU" in kept[0], kept
    assert "torch 0.0" in kept[0] and "train_throughput" not in kept[0]  # same machine: no note
