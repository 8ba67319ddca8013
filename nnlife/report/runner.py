"""HTML reports: execute the analysis notebooks with papermill, render them with nbconvert.

``render_reports(data, out_dir)`` (and ``nnlife report DATA... --out reports/``) runs each
analysis notebook of ``nnlife/report/notebooks/`` on the given tables (any mix of nnlife batches and the
published dataset's tables), keeps the executed notebook (``<out>/<name>.ipynb``) and writes a
self-contained HTML page (``<out>/<name>.html``): code hidden, figures embedded as PNG data URIs,
no script or style loaded from the network (nbconvert's lab template without require.js,
MathJax, Mermaid and the widget loader, which these reports do not use).

The notebooks get three parameters (see their parameters cells): ``data`` (absolute paths),
``datasets`` (names to include; [] = all) and ``out`` (the output folder). The catalog is built
once here first, so a bad path fails fast with one clear message and the notebooks read it from
the cache.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from ..atomic import atomic_write
from ..errors import NnlifeError, ParameterError

NOTEBOOKS = (
    "02-curve-shapes",
    "03-structure-vs-fitness",
    "05-early-prediction",
)  # the analysis notebooks, in order
EXPLORER = "04-explore"  # interactive: run in JupyterLab
KERNEL = "python3"  # the Jupyter kernel that runs them

# nbconvert's lab template without the scripts it loads from CDNs (self-contained pages)
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
alt="{{ output.metadata.get('image/png', {}).get('alt', 'figure') | escape_html }}"
{%- set width=output | get_metadata('width', 'image/png') -%}
{%- if width is not none %} width={{ width | escape_html }}{%- endif %}
{%- set height=output | get_metadata('height', 'image/png') -%}
{%- if height is not none %} height={{ height | escape_html }}{%- endif %}
>
</div>
{%- endblock data_png %}
"""
_TEMPLATE_NAME = "nnlife_report.html.j2"


class ReportError(NnlifeError, RuntimeError):
    """A report notebook failed: names the notebook, the cell's error and the executed copy."""


def notebook_dir() -> Path:
    """The folder of nnlife's notebooks: ``nnlife/report/notebooks``, package data that ships
    with nnlife (found through importlib.resources, so an installed wheel has them too).

    Raises ParameterError when it is not there (an install that left the package data out).
    """
    d = Path(str(resources.files("nnlife.report") / "notebooks"))
    if not d.is_dir():
        raise ParameterError(
            f"nnlife's notebooks are not at {d}: reinstall nnlife with its package "
            "data (pip install .), or pass notebooks_from"
        )
    return d


def notebook_parameters(path) -> dict:
    """The parameters a notebook declares in its parameters cell: name -> (type, default, help)."""
    import papermill as pm

    found = pm.inspect_notebook(str(path))
    return {k: (v.get("inferred_type_name"), v.get("default"), v.get("help")) for k, v in found.items()}


def execute_notebook(
    src, dst, parameters: dict, kernel_name: str = KERNEL, cwd=None, timeout_s: float | None = None
) -> Path:
    """Run the notebook ``src`` with papermill, injecting ``parameters``; write it to ``dst``.

    cwd: working directory of the kernel (default: this process's). timeout_s: per cell.
    Raises ReportError naming the failing cell's error and ``dst`` (which keeps the traceback).
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sockets = tempfile.mkdtemp(prefix="nnlife-kernel-") if os.name == "posix" else None
    engine = {"kernel_manager_class": _ipc_kernel_manager(sockets)} if sockets else {}
    try:
        pm.execute_notebook(
            str(src),
            str(dst),
            parameters=parameters,
            kernel_name=kernel_name,
            cwd=str(cwd or os.getcwd()),
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout_s,
            **engine,
        )
    except PapermillExecutionError as e:
        raise ReportError(
            f"notebook {src.name} failed in cell {e.exec_count}: {e.ename}: "
            f"{e.evalue}; the executed notebook with the traceback is {dst}"
        ) from None
    except Exception as e:  # a kernel that will not start, a missing kernel spec, ...
        if type(e).__name__ == "NoSuchKernel":
            raise ReportError(
                f"no Jupyter kernel named {kernel_name!r}: register one with "
                f"{sys.executable} -m ipykernel install --sys-prefix --name "
                f"{kernel_name} (make venv does)"
            ) from None
        raise
    finally:
        if sockets:
            shutil.rmtree(sockets, ignore_errors=True)
    return dst


def _ipc_kernel_manager(folder: str):
    """A kernel manager class whose kernels talk over Unix sockets in ``folder``.

    The default, TCP on localhost, picks free ports before the kernel binds them, so kernels
    started at the same moment (the report's notebooks run side by side; other processes start
    kernels too) can race for a port ("Address already in use") and die. Unix sockets in a
    private folder cannot collide.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(folder, "kernel"))
            super().__init__(**kwargs)

    return IPCKernelManager


def to_html(notebook, html=None, title: str | None = None) -> Path:
    """Render an executed notebook as one self-contained HTML page (code hidden); returns it."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    html = Path(html) if html else notebook.with_suffix(".html")
    nb = nbformat.read(notebook, as_version=4)
    if title:
        nb.metadata["title"] = title
    _alt_texts(nb)
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
    )
    exporter.template_file = _TEMPLATE_NAME
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    return atomic_write(html, body)


def _alt_texts(nb) -> None:
    """Give every figure an alt text: the heading of its section, numbered within it."""
    heading, n = "", 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    heading, n = line.lstrip("#").strip(), 0
            continue
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                n += 1
                meta = out.setdefault("metadata", {}).setdefault("image/png", {})
                meta.setdefault("alt", f"Figure {n} of section '{heading}'" if heading else f"Figure {n}")


def _title(nb_path: Path) -> str:
    """The notebook's first markdown heading, for the page title."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return nb_path.stem


def render_reports(
    data,
    out_dir="reports",
    notebooks=NOTEBOOKS,
    datasets=(),
    parameters=None,
    notebooks_from=None,
    kernel_name: str = KERNEL,
    log=None,
    parallel: int | None = None,
) -> list[Path]:
    """Execute the analysis notebooks on ``data`` and render each as HTML in ``out_dir``.

    data: table files, folders of tables or globs (a list, or one path), in either layout.
    out_dir: where ``<name>.ipynb`` (executed) and ``<name>.html`` go; created if missing.
    notebooks: names (without .ipynb) in the notebook folder; default the analysis notebooks.
    datasets: dataset names to include (empty: every dataset in the data).
    parameters: further papermill parameters (e.g. {"max_fit_curves": 100}); each notebook gets
        those it declares; one that no notebook declares raises ParameterError.
    notebooks_from: the notebook folder (default: ``notebook_dir()``).
    log: a callable given one line per step (e.g. print); default silent.
    parallel: notebooks run at the same time, each in its own kernel (default: all of them;
        they are independent and a kernel spends much of its time starting and importing).
    Returns the HTML paths, in the order of ``notebooks``.
    Raises ParameterError when ``data`` names no readable table or none of ``datasets``,
    ReportError when a notebook fails.
    """
    from ..analyse.catalog import load_catalog

    if Path(out_dir).exists() and not Path(out_dir).is_dir():  # before any work
        raise ParameterError(f"{out_dir}: not a folder; the output (--out) is a folder for the pages")
    paths = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    # absolute paths: the kernel's working directory need not be ours
    abs_paths = [os.path.abspath(os.fspath(p)) for p in paths]
    # fail fast, with one clear message, on a path that names nothing; and build the catalog's
    # cache once, before the kernels start (each notebook then reads it from the cache)
    cat = load_catalog(abs_paths, warn=False)
    if log:
        log(f"nnlife report: {len(cat)} lifespans, {len(cat.broken)} broken table(s) left out")
        for b in cat.broken:
            log(f"  broken: {b.message}")
    if len(cat) == 0:
        raise ParameterError(
            f"no readable table in {paths}: every table is broken ({cat.broken[0].message} ...)"
        )
    if datasets and len(cat.select(datasets)) == 0:
        raise ParameterError(
            f"no lifespans of {list(datasets)} in {paths}; the data holds "
            f"{sorted(cat.table['dataset'].unique())}"
        )
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    src_dir = Path(notebooks_from) if notebooks_from else notebook_dir()
    common = {"data": abs_paths, "datasets": list(datasets or []), "out": str(out_dir)}
    extra = dict(parameters or {})
    jobs, used = [], set()
    for name in notebooks:
        src = src_dir / f"{name}.ipynb"
        if not src.exists():
            raise ParameterError(
                f"no notebook {src}; known: {sorted(p.stem for p in src_dir.glob('*.ipynb'))}"
            )
        declared = set(notebook_parameters(src))
        mine = {k: v for k, v in extra.items() if k in declared}  # each notebook its own
        used |= set(mine)
        jobs.append((name, src, {**common, **mine}))
    unknown = set(extra) - used
    if unknown:
        raise ParameterError(
            f"no notebook among {list(notebooks)} has the parameter(s) "
            f"{sorted(unknown)}; see `papermill --help-notebook NOTEBOOK`"
        )

    def run(job):
        name, src, params = job
        if log:
            log(f"nnlife report: running {src.name}")
        executed = execute_notebook(src, out_dir / f"{name}.ipynb", params, kernel_name)
        html = to_html(executed, out_dir / f"{name}.html", title=f"{_title(src)} (nnlife report)")
        if log:
            log(f"nnlife report: wrote {html}")
        return html

    # the notebooks are independent: run them side by side (each in its own kernel process)
    workers = max(1, min(len(jobs), parallel if parallel else len(jobs)))
    if workers == 1:
        return [run(job) for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        written = list(pool.map(run, jobs))
    return written


__all__ = [
    "NOTEBOOKS",
    "EXPLORER",
    "KERNEL",
    "ReportError",
    "notebook_dir",
    "notebook_parameters",
    "execute_notebook",
    "to_html",
    "render_reports",
]
