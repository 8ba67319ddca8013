"""HTML reports: the analysis notebooks run with papermill on a fresh batch, on the three published
sample tables and on a mix of both; each page is opened in headless Chromium (Debian's
``chromium``, installed by scripts/install-browser.sh), which must load it with every figure and
no error output. A screenshot of each page goes to reports/screenshots/.
"""

import argparse
import base64
import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat
import pytest
from test_catalog import write_batch

from conftest import FIXTURES, ROOT
from nnlife.cli import report as report_cli
from nnlife.errors import ParameterError
from nnlife.report import runner as report

ORIGINAL = FIXTURES / "original-format"
NOTEBOOKS = ROOT / "notebooks"
SCREENSHOTS = ROOT / "reports" / "screenshots"
# small runs: the notebooks' defaults are sized for real batches
QUICK = {
    "max_fit_curves": 12,
    "n_scatter": 1,
    "cutoffs": [2, 4],
    "penguin_networks": 3,
    "folds": 2,
    "n_orders": 2,
}


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory):
    """Catalog caches of read-only folders (the samples) go to a temporary folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NNLIFE_CACHE_DIR", str(tmp_path_factory.mktemp("user-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def fresh_batch(tmp_path_factory):
    """A fresh batch as nnlife writes it: 24 tables over the three datasets, all curve shapes."""
    folder = tmp_path_factory.mktemp("data") / "batch-fresh-seed0"
    write_batch(folder, n=24, seed=11)
    return folder


def _parameters(nb_path: Path) -> set:
    nb = nbformat.read(nb_path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {line.split(":")[0] for line in cell.source.splitlines() if re.match(r"^\w+: \w+ = ", line)}


def chromium() -> str:
    found = next(
        (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
    )
    assert found, "no Chromium on PATH: run `bash scripts/install-browser.sh` (make test does)"
    return found


def open_in_browser(html: Path, screenshot: Path, tmp: Path) -> str:
    """Load ``html`` in headless Chromium: the DOM after load, and a screenshot of the page."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp / 'chromium-profile'}",
    ]
    dom = subprocess.run(
        [chromium(), *flags, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.unlink(missing_ok=True)
    shot = subprocess.run(
        [chromium(), *flags, f"--screenshot={screenshot}", "--window-size=1280,2000", html.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    return dom.stdout


def png_size(data: bytes) -> tuple:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def figures_in(notebook: Path) -> int:
    nb = nbformat.read(notebook, as_version=4)
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def error_output(dom: str) -> list:
    """What in a loaded page is error output: nbconvert renders stderr streams and errors
    (tracebacks) as elements with data-mime-type="application/vnd.jupyter.stderr"."""
    stderr = r'<[^>]+data-mime-type="application/vnd\.jupyter\.stderr"[^>]*>\s*<pre>(.{0,200})'
    found = re.findall(stderr, dom, re.S)
    found += re.findall(r"Traceback \(most recent call last\)", dom)
    found += re.findall(r"\b\w+(?:Error|Exception|Warning): ", dom)
    return found


def check_page(html: Path, executed: Path, heading: str, screenshot: Path, tmp: Path) -> None:
    """The page loads in the browser with every figure the notebook made, and no error output."""
    text = html.read_text()
    # self-contained: nothing fetched from the network
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', text)
    dom = open_in_browser(html, screenshot, tmp)
    assert "<body" in dom and heading in dom
    imgs = re.findall(r'<img[^>]*src="data:image/png;base64,([^"]*)"', dom)
    n_figures = figures_in(executed)
    assert n_figures >= 3 and len(imgs) == n_figures
    for b64 in imgs:
        w, h = png_size(base64.b64decode(b64))
        assert w >= 300 and h >= 200
    assert error_output(dom) == []
    # the screenshot shows a rendered page, not a blank one
    import matplotlib.image

    pixels = matplotlib.image.imread(screenshot)
    assert pixels.shape[0] == 2000 and pixels.shape[1] == 1280 and pixels.std() > 0.05


CASES = {
    # name: the data, given the fresh batch
    "samples": lambda fresh: [ORIGINAL],
    "fresh": lambda fresh: [fresh],
    "mix": lambda fresh: [fresh, ORIGINAL],
}
HEADINGS = {
    "02-curve-shapes": "Curve shapes",
    "03-structure-vs-fitness": "Structure against fitness",
    "05-early-prediction": "Early prediction and early termination",
}


@pytest.fixture(scope="module")
def rendered(fresh_batch, cache_env, tmp_path_factory):
    """case -> its report folder, each rendered once (both notebooks side by side)."""
    done = {}

    def get(case):
        if case not in done:
            out = tmp_path_factory.mktemp(f"reports-{case}")
            html = report.render_reports(CASES[case](fresh_batch), out, parameters=QUICK)
            assert html == [out / f"{name}.html" for name in report.NOTEBOOKS]
            done[case] = out
        return done[case]

    return get


@pytest.mark.parametrize("name", report.NOTEBOOKS)
@pytest.mark.parametrize("case", list(CASES))
def test_report_opens_in_browser_with_every_figure(case, name, rendered, tmp_path):
    out = rendered(case)
    check_page(
        out / f"{name}.html",
        out / f"{name}.ipynb",
        HEADINGS[name],
        SCREENSHOTS / f"{case}-{name}.png",
        tmp_path,
    )


def test_mix_report_covers_both_layouts(rendered, fresh_batch):
    """The mixed report's notebook saw every table of both sources."""
    nb = nbformat.read(rendered("mix") / "03-structure-vs-fitness.ipynb", as_version=4)
    text = json.dumps([o for c in nb.cells for o in c.get("outputs", [])])
    n = len(list(fresh_batch.glob("*.txt"))) + 3
    assert f"**{n} lifespans** from 2 data path(s)" in text


def test_the_page_check_sees_error_output(tmp_path):
    """The browser check is not blind: a page with a warning and a traceback fails it."""
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    nb = new_notebook(
        cells=[
            new_code_cell(
                "x",
                outputs=[
                    new_output("stream", name="stderr", text="UserWarning: something\n"),
                    new_output(
                        "error",
                        ename="ValueError",
                        evalue="bad",
                        traceback=["Traceback (most recent call last)", "ValueError: bad"],
                    ),
                ],
            )
        ]
    )
    nbformat.write(nb, tmp_path / "bad.ipynb")
    html = report.to_html(tmp_path / "bad.ipynb")
    dom = open_in_browser(html, tmp_path / "bad.png", tmp_path)
    found = error_output(dom)
    assert len(found) >= 4 and any("UserWarning" in f for f in found)


def test_cli_passes_data_datasets_and_out(fresh_batch, cache_env, tmp_path, capsys, monkeypatch):
    """``nnlife report DATA... --out DIR --datasets ...`` reaches every notebook's parameters
    (the notebooks themselves run in the browser tests above)."""
    ran = []

    def fake_execute(src, dst, parameters, kernel_name="python3", cwd=None, timeout_s=None):
        ran.append((Path(src).stem, parameters))
        shutil.copy(src, dst)
        return Path(dst)

    monkeypatch.setattr(report, "execute_notebook", fake_execute)
    p = argparse.ArgumentParser()
    report_cli.add_cli(p.add_subparsers())
    args = p.parse_args(
        [
            "report",
            str(fresh_batch),
            str(ORIGINAL),
            "--out",
            str(tmp_path / "r"),
            "--datasets",
            "SVHN",
            "cifar100",
        ]
    )
    assert args.func(args) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "r" / f"{n}.html") for n in report.NOTEBOOKS]
    assert [r[0] for r in ran] == list(report.NOTEBOOKS)
    for _, params in ran:
        assert params["data"] == [str(fresh_batch), str(ORIGINAL)]
        assert params["datasets"] == ["SVHN", "cifar100"] and params["out"] == str(tmp_path / "r")
    with pytest.raises(ParameterError, match="no such file or folder"):
        report.render_reports([tmp_path / "nowhere"], tmp_path / "r2")
    with pytest.raises(ParameterError, match="no notebook"):
        report.render_reports([fresh_batch], tmp_path / "r3", notebooks=["99-nope"])
    with pytest.raises(ParameterError, match=r"no lifespans of \['SVHN'\]"):
        report.render_reports([ORIGINAL], tmp_path / "r5", datasets=["SVHN"])
    with pytest.raises(ParameterError, match="unknown dataset"):
        report.render_reports([ORIGINAL], tmp_path / "r6", datasets=["MNIST"])
    with pytest.raises(ParameterError, match="has the parameter"):
        report.render_reports([fresh_batch], tmp_path / "r4", parameters={"n_extremess": 3})


def test_a_failing_notebook_is_reported_by_name(tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell("x: int = 1  # a parameter", metadata={"tags": ["parameters"]}),
            new_code_cell("raise ValueError(f'broken on purpose {x}')"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(
        report.ReportError, match=r"bad.ipynb failed in cell \d+: ValueError: broken on purpose 7"
    ):
        report.execute_notebook(tmp_path / "bad.ipynb", tmp_path / "out" / "bad.ipynb", {"x": 7})
    assert (tmp_path / "out" / "bad.ipynb").exists()  # kept, with the traceback


def test_explorer_notebook_runs(fresh_batch, cache_env, tmp_path):
    out = report.execute_notebook(
        NOTEBOOKS / f"{report.EXPLORER}.ipynb",
        tmp_path / "04.ipynb",
        {"data": [str(fresh_batch), str(ORIGINAL)], "datasets": [], "out": str(tmp_path)},
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)
    # the explorer drew the first network into its output area: curves, structure, fits
    models = next(iter(nb.metadata["widgets"].values()))["state"].values()
    area = [m["state"]["outputs"] for m in models if m["model_name"] == "OutputModel"]
    assert len(area) == 1 and "image/png" in area[0][0]["data"]
    boxes = {
        m["state"]["description"]: m["state"]["_options_labels"]
        for m in models
        if m["model_name"] == "DropdownModel"
    }
    assert boxes["dataset"] == ["CIFAR100", "FashionMNIST", "SVHN"]


def test_explorer_follows_the_choices(fresh_batch, cache_env):
    """In a live kernel: choosing another dataset lists its networks and draws the first."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell(
                "import nnlife.plots as P\n"
                "from nnlife.analyse.catalog import load_catalog\n"
                f"cat = load_catalog([{str(fresh_batch)!r}], warn=False)\n"
                "w = P.explorer(cat.table, cat.curves, families=['pow3'])\n"
                "(ds, shape), net, out = w.children[0].children, w.children[1], w.children[2]"
            ),
            new_code_cell(
                "ds.value = 'SVHN'\n"
                "svhn = set(cat.table.loc[cat.table['dataset'] == 'SVHN', 'id'])\n"
                "print(net.value in svhn, {v for _, v in net.options} == svhn,\n"
                "      [sorted(o['data']) for o in out.outputs if 'data' in o][0])"
            ),
        ]
    )
    sockets = tempfile.mkdtemp(prefix="nnlife-test-kernel-")
    try:
        NotebookClient(
            nb, kernel_name="python3", timeout=120, kernel_manager_class=report._ipc_kernel_manager(sockets)
        ).execute()
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    printed = nb.cells[1].outputs[0]["text"]
    assert printed.startswith("True True ['image/png', 'text/plain']"), printed


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("0[2-5]-*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_are_stored_clean_with_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert {"data", "datasets", "out"} <= _parameters(path)
    for line in params[0].source.splitlines():  # typed, commented literals only
        assert re.match(r"^\w+: \w+ = .+  # \S", line), line
    for c in code:
        src = c.source
        assert not re.search(r"^\s*(def|class) ", src, re.M), f"{path.name}: define it in nnlife"
        assert "import torch" not in src and "%cd" not in src and "sys.path" not in src
        assert "import *" not in src


def test_analysis_side_never_imports_torch(fresh_batch, cache_env):
    code = (
        "import sys\n"
        "import nnlife.plots, nnlife.report\n"
        "from nnlife.analyse.catalog import load_catalog\n"
        f"cat = load_catalog([{str(fresh_batch)!r}, {str(ORIGINAL)!r}], warn=False)\n"
        "import nnlife.structure as s; s.correlations(cat.table)\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'nnlife.generate'))]\n"
        "print(len(cat)); assert not bad, bad\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    assert int(res.stdout.strip()) == len(list(fresh_batch.glob("*.txt"))) + 3


def _all_figures(plots, table, curves, fits, corr, few, summary) -> dict:
    return {
        "prediction": plots.plot_prediction_benchmark(summary, "mae"),
        "curves": plots.plot_curves_by_dataset(curves),
        "fitness": plots.plot_fitness_distribution(table),
        "wins": plots.plot_family_wins(fits, table),
        "fit errors": plots.plot_fit_errors(fits),
        "fit examples": plots.plot_fit_examples(curves, fits, few),
        "shape counts": plots.plot_shape_counts(table),
        "shape examples": plots.plot_shape_examples(curves, table),
        "features": plots.plot_feature_distributions(table),
        "heatmap": plots.plot_correlation_heatmap(corr),
        "scatter": plots.plot_feature_vs_fitness(table, "n_params"),
        "network": plots.plot_network(curves, few[0], fits),
    }


def test_every_figure_is_labelled(fresh_batch, cache_env):
    """Axes labelled (with units where there are any), a title on each figure, and no warning
    (deprecations included: they would show as error output in a report)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnlife import plots
    from nnlife.analyse.catalog import load_catalog
    from nnlife.curves import fit_curves
    from nnlife.predict import prediction_benchmark, summarize_predictions
    from nnlife.structure import correlations

    cat = load_catalog([fresh_batch, ORIGINAL], warn=False)
    table, curves = cat.table, cat.curves
    few = table["id"].iloc[:4].tolist()
    fits = fit_curves(curves[curves["id"].isin(few)], families=["penguin3", "pow3"])
    corr = correlations(table)
    summary = summarize_predictions(
        prediction_benchmark(curves[curves["id"].isin(few)], cutoffs=(2, 4), methods=("last_value", "nnlife"))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a figure that warns fails (deprecations included)
        figures = _all_figures(plots, table, curves, fits, corr, few, summary)
    for name, fig in figures.items():
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison and ax.get_label() != "<colorbar>"]
        assert axes, name
        for ax in axes:
            assert ax.get_xlabel() and ax.get_ylabel(), f"{name}: unlabelled axes"
        assert fig._suptitle is not None or all(ax.get_title() for ax in axes), f"{name}: no title"
    assert "(%)" in figures["fitness"].axes[0].get_xlabel()
    assert "log" in figures["scatter"].axes[0].get_xlabel()
    assert figures["network"].axes[1].get_ylabel() == "cross-entropy loss (nats)"
    assert "(n=4)" in figures["prediction"].axes[0].get_xticklabels()[0].get_text()
    plt.close("all")
