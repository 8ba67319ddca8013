"""Run nnlife's benchmarks and write ``<out>/benchmarks.md`` and ``<out>/benchmarks.json``.

    python bench/run.py --out reports            # full mode (make bench), ~30-40 min on 2 cores
    python bench/run.py --quick --out reports/bench-quick   # a first look, ~3 min

Each benchmark is a script in ``bench/`` that runs in its own process (so thread settings, Dask
clusters and imports of one never leak into another) and hands its figures back as JSON:

    train_throughput.py   nnlife vs a plain DataLoader loop vs Lightning, matmul peak, eval cost
    train_full_size.py    the same on full-size lifespans (60,000 / 10,000 images), with a profile
    malloc.py             the same 2-worker batch with Dask's and with nnlife's malloc environment
    scaling.py            lifespans per hour with 1 and 2 Dask workers (generate_batch)
    analysis_scale.py     catalog / Domhan fits / shape labels over 6000 synthetic tables
    prediction.py         early predictors (learned, PENGUIN, ensemble, last value) and early
                          termination on the reference corpus, cross-validated by network

Inside every script the repeats are interleaved (``for r in range(R): for c in contenders``) and
the reported figure is the median; every ratio is formed from medians of the same run. This file
also holds the small harness the scripts share (``interleave``, ``median``, ``profile_top``,
``machine``, ``versions``): the scripts import it as ``run``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as _dt
import io
import json
import os
import platform
import pstats
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MODES = ("full", "quick", "smoke")  # smoke: tiny inputs, for tests/test_bench_smoke.py only
PARTS = ("train_throughput", "train_full_size", "scaling", "malloc", "analysis_scale", "prediction")

# Every key of benchmarks.json's "figures", the part that measures it, and its target (issues 7
# and 16; the *_paper / *_small figures are the full-size run's, issue 16).
# Target: (comparison, value, unit) or None when the figure has no target of its own.
KEYS = {
    "ratio_vs_dataloader": ("train_throughput", (">=", 1.4, "x")),
    "ratio_vs_lightning": ("train_throughput", (">=", 1.5, "x")),
    "ratio_vs_dataloader_paper": ("train_full_size", (">=", 1.5, "x")),
    "ratio_vs_lightning_paper": ("train_full_size", (">=", 1.5, "x")),
    "peak_fraction_paper": ("train_full_size", (">=", 0.5, "of matmul peak")),
    "ratio_vs_dataloader_small": ("train_full_size", None),
    "ratio_vs_lightning_small": ("train_full_size", None),
    "peak_fraction_small": ("train_full_size", (">=", 0.60, "of matmul peak")),
    "eval_overhead_points": ("train_throughput", None),
    "scaling_2_workers": ("scaling", (">=", 1.8, "x")),
    "catalog_6000_s": ("analysis_scale", ("<=", 5.0, "s")),
    "catalog_6000_cached_s": ("analysis_scale", ("<=", 0.5, "s")),
    "fits_6000_s": ("analysis_scale", ("<=", 120.0, "s")),
}


# --- harness shared by the scripts ----------------------------------------------------------------
def log(*args) -> None:
    """Progress to stderr (stdout stays free), with a timestamp."""
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def median(values):
    """Median of the finite values, or None when there are none."""
    vals = [v for v in values if v is not None and v == v]
    return statistics.median(vals) if vals else None


def interleave(contenders: dict, repeats: int, label: str = "", warmup: bool = False) -> dict:
    """Run every contender once per repeat, in turn: ``for r in repeats: for c in contenders``.

    ``contenders``: name -> zero-argument callable returning a dict of measurements (it must hold
    ``seconds``). Returns name -> list of those dicts, one per repeat. Interleaving spreads slow
    drifts of a shared machine (other jobs, thermal state) over every contender alike.
    ``warmup``: run each contender once first, untimed (imports, first-call set-up, caches), so
    the repeats measure the steady cost that every further lifespan of a batch pays.
    """
    if warmup:
        for name, fn in contenders.items():
            fn()
            log(f"{label} warm-up {name} done")
    out = {name: [] for name in contenders}
    for r in range(repeats):
        for name, fn in contenders.items():
            result = fn()
            out[name].append(result)
            log(f"{label} repeat {r + 1}/{repeats} {name}: {result['seconds']:.3f} s")
    return out


def medians(runs: list[dict]) -> dict:
    """Per-key medians over the repeats of one contender (numeric keys only)."""
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return {k: median([r[k] for r in runs]) for k in keys}


def profile_top(fn, n: int = 15, sort: str = "tottime") -> str:
    """Run ``fn()`` under cProfile; the top ``n`` functions by ``sort`` as text (paths shortened)."""
    prof = cProfile.Profile()
    prof.enable()
    try:
        fn()
    finally:
        prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.strip_dirs().sort_stats(sort).print_stats(n)
    lines = buf.getvalue().splitlines()
    # drop pstats' preamble up to the column header, keep the table
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    total = next((line.strip() for line in lines if "function calls" in line), "")
    return "\n".join([total, ""] + [line.rstrip() for line in lines[start:] if line.strip()])


def machine() -> dict:
    """CPU model, cores, memory and OS of this machine (from /proc where it exists)."""
    info = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": None,
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        info["load_average_at_start"] = list(os.getloadavg())
    except OSError:
        pass
    return info


def versions() -> dict:
    """Versions of python and the packages the benchmarks use (None when not installed)."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in (
        "torch",
        "torchvision",
        "numpy",
        "scipy",
        "pandas",
        "pyarrow",
        "dask",
        "distributed",
        "lightning",
        "nnlife",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def part_main(run_fn, argv=None) -> int:
    """The command line of every benchmark script: ``--mode`` and ``--json PATH``."""
    parser = argparse.ArgumentParser(description=run_fn.__doc__)
    parser.add_argument("--mode", choices=MODES, default="quick")
    parser.add_argument("--json", default=None, help="write the result here (default: stdout)")
    args = parser.parse_args(argv)
    result = run_fn(args.mode)
    text = json.dumps(result, indent=1, default=_jsonable)
    if args.json:
        Path(args.json).write_text(text)
    else:
        print(text)
    return 0


def _jsonable(x):
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


def fmt(x, digits: int = 3) -> str:
    """A figure for the report: None -> 'n/a', floats to ``digits`` significant digits."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x != x:
            return "nan"
        if abs(x) >= 10**digits:
            return f"{x:,.0f}"
        return f"{x:.{digits}g}"
    return str(x)


def md_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table (cells formatted with ``fmt``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- the entry point ------------------------------------------------------------------------------
def _target_met(value, target):
    if value is None or target is None:
        return None
    op, bound, _ = target
    return value >= bound if op == ">=" else value <= bound


def _run_part(part: str, mode: str, env: dict) -> tuple[dict | None, dict]:
    """Run one script in its own process; returns (its JSON or None, how it was run)."""
    with tempfile.TemporaryDirectory(prefix=f"nnlife-bench-{part}-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(BENCH / f"{part}.py"), "--mode", mode, "--json", str(out)]
        shown = f"python bench/{part}.py --mode {mode} --json <tmp>"
        log(f"--- {part}: {shown}")
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env)
        wall = time.perf_counter() - t0
        how = {"command": shown, "wall_s": round(wall, 1), "returncode": proc.returncode}
        if proc.returncode != 0 or not out.exists():
            log(f"--- {part} FAILED (exit {proc.returncode}) after {wall:.0f} s")
            return None, how
        log(f"--- {part} done in {wall:.0f} s")
        return json.loads(out.read_text()), how


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="reports", help="folder for benchmarks.md and .json")
    parser.add_argument("--quick", action="store_true", help="small sizes and 3 repeats: a first look")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tests only
    parser.add_argument(
        "--parts", nargs="+", choices=PARTS, default=list(PARTS), help="run only these benchmarks"
    )
    parser.add_argument(
        "--results",
        nargs="+",
        default=[],
        metavar="PART=FILE",
        help="take a part's result from the JSON its script wrote (python bench/<part>.py --mode M "
        "--json FILE) instead of running it again",
    )
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else ("quick" if args.quick else "full")
    given = dict(item.split("=", 1) for item in args.results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python bench/run.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH), str(ROOT), env.get("PYTHONPATH")) if p)
    started = _dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    mach = machine()
    results, runs = {}, {}
    for part in args.parts:
        if part in given:  # measured before, by the part's own script
            results[part] = json.loads(Path(given[part]).read_text())
            runs[part] = {
                "command": f"python bench/{part}.py --mode {mode} --json {Path(given[part]).name}",
                "wall_s": results[part].get("wall_s"),
                "returncode": 0,
            }
        else:
            results[part], runs[part] = _run_part(part, mode, env)
            # where and with what it ran: a later run of other parts keeps this part's section,
            # and the report's machine table then describes that later run
            runs[part].update(date=started.isoformat(timespec="seconds"), machine=mach, versions=versions())
    total = time.perf_counter() - t0

    # A run of some parts merges into the report already in --out (same mode): the other parts'
    # figures, details and sections are kept as they were measured ("kept_from" says from when).
    prev = _previous(out, mode) if set(args.parts) != set(PARTS) else None
    kept = [p for p in PARTS if p not in args.parts and prev is not None and p in prev["runs"]]

    figures, sources = {}, {}
    for key, (part, _) in KEYS.items():
        res = results.get(part)
        if part in kept:
            figures[key] = prev["figures"].get(key)
        else:
            figures[key] = None if res is None else res["figures"].get(key)
        sources[key] = part
    rerun = set().union(*[set((results.get(p) or {}).get("extra_figures") or {}) for p in args.parts])
    extra_by_part = {p: dict((prev.get("extra_by_part") or {}).get(p) or {}) for p in kept}
    if prev is not None:  # figures that belong to no part (the "(earlier run)" bucket) stay, unless rerun
        for name, figs in (prev.get("extra_by_part") or {}).items():
            if name not in PARTS:
                extra_by_part[name] = {k: v for k, v in figs.items() if k not in rerun}
    if prev is not None and not prev.get("extra_by_part"):  # a report from before extra_by_part
        extra_by_part["(earlier run)"] = {k: v for k, v in prev["extra_figures"].items() if k not in rerun}
    for part in args.parts:
        extra_by_part[part] = dict((results.get(part) or {}).get("extra_figures") or {})
    extra = {}
    for part_extra in extra_by_part.values():
        extra.update(part_extra)
    if "train_throughput" in kept:
        gpu = prev.get("gpu")
    else:
        gpu = (results.get("train_throughput") or {}).get("gpu")
    sections = {}
    for part in PARTS:
        if part in kept:
            # the section as benchmarks.md has it now (a note or a re-measurement merged there by
            # hand survives), else as the JSON kept it
            sections[part] = _old_section(prev["md"], part) or (prev.get("markdown_parts") or {}).get(part)
        elif part in results:
            sections[part] = "\n".join(_part_lines(part, results[part], runs[part]))
    details = {p: (prev.get("parts") or {}).get(p) for p in kept}
    details.update({p: (r or {}).get("details") for p, r in results.items()})
    runs = {**{p: prev["runs"][p] for p in kept}, **runs}
    doc = {
        "figures": figures,
        **figures,  # the figures also at the top level, as issue 7 names them
        "targets": {
            k: ({"op": t[0], "value": t[1], "unit": t[2], "met": _target_met(figures[k], t)} if t else None)
            for k, (_, t) in KEYS.items()
        },
        "extra_figures": extra,
        "mode": mode,
        "command": command,
        "date": started.isoformat(timespec="seconds"),
        "total_wall_s": round(total, 1),
        "machine": mach,
        "versions": versions(),
        "gpu": gpu,
        "runs": runs,
        "parts": details,
        "extra_by_part": extra_by_part,
        "kept_from": ({"date": prev["date"], "command": prev["command"], "parts": kept} if kept else None),
        "markdown_parts": sections,
    }
    (out / "benchmarks.json").write_text(json.dumps(doc, indent=1, default=_jsonable) + "\n")
    (out / "benchmarks.md").write_text(_markdown(doc, results, sections))
    log(f"wrote {out / 'benchmarks.md'} and {out / 'benchmarks.json'} ({total:.0f} s in all)")
    failed = [p for p in args.parts if results[p] is None]
    if failed:
        log(f"failed: {', '.join(failed)} (their figures are null)")
    return 1 if failed else 0


def _previous(out: Path, mode: str) -> dict | None:
    """The report already in ``out`` (its JSON, with its Markdown under "md") when it was
    measured in ``mode``; None otherwise."""
    try:
        prev = json.loads((out / "benchmarks.json").read_text())
        prev["md"] = (out / "benchmarks.md").read_text()
    except (OSError, ValueError):
        return None
    return prev if prev.get("mode") == mode and isinstance(prev.get("runs"), dict) else None


def _old_section(md: str, part: str) -> str | None:
    """A part's section cut out of an older benchmarks.md (one written before "markdown_parts"
    was kept in the JSON): from the first '## ' heading naming `bench/<part>.py` to its
    'Command:' line."""
    lines = md.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.startswith("## ") and f"`bench/{part}.py`" in line), None
    )
    if start is None:
        return None
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith(f"Command: `python bench/{part}.py")),
        None,
    )
    return None if end is None else "\n".join(lines[start : end + 1]) + "\n"


def _part_lines(part: str, res, run: dict) -> list[str]:
    """One part's section of the report: its markdown and the command it ran with."""
    if res is None:
        return [
            f"## {part}",
            "",
            f"FAILED (exit {run['returncode']}): `{run['command']}`; "
            "its figures are null. Run the command to see the error.",
            "",
        ]
    took = f" ({run['wall_s']:.0f} s)" if run.get("wall_s") is not None else ""
    return [res["markdown"].rstrip(), "", f"Command: `{run['command']}`{took}.", ""]


def _kept_provenance(doc: dict) -> list[str]:
    """Lines saying, for each kept part, where it was measured when that is not the machine and
    versions above (which describe this run): its CPU and load, and the versions that differ."""
    notes = []
    for part in (doc.get("kept_from") or {}).get("parts") or []:
        run = (doc.get("runs") or {}).get(part) or {}
        m, v = run.get("machine"), run.get("versions")
        if m is None or v is None:
            notes.append(f"{part}: measured before runs recorded their machine")
            continue
        differ = [
            f"{k} {v.get(k)}"
            for k in sorted(set(v) | set(doc["versions"]))
            if v.get(k) != doc["versions"].get(k)
        ]
        same_cpu = (m.get("cpu"), m.get("cores")) == (doc["machine"].get("cpu"), doc["machine"].get("cores"))
        if same_cpu and not differ:
            continue
        load = ", ".join(f"{x:.2f}" for x in m.get("load_average_at_start", []))
        notes.append(
            f"{part}: {run.get('date')}, {m.get('cpu')} ({m.get('cores')} cores, load {load})"
            + (f", versions {', '.join(differ)}" if differ else "")
        )
    if not notes:
        return []
    return ["Kept sections measured elsewhere or with other versions: " + "; ".join(notes) + ".", ""]


def _markdown(doc: dict, results: dict, sections: dict | None = None) -> str:
    m, v = doc["machine"], doc["versions"]
    mode_note = {
        "full": "full mode",
        "quick": "**quick mode**: reduced sizes and repeats, for a first look; the figures are "
        "not the ones to compare with the targets",
        "smoke": "**smoke mode** (tiny inputs, for the test suite): the figures mean nothing",
    }[doc["mode"]]
    lines = [
        "# nnlife benchmarks",
        "",
        f"Measured {doc['date']} with `{doc['command']}` ({mode_note}); {doc['total_wall_s']:.0f} s in all."
        + (
            f" The sections of {', '.join(doc['kept_from']['parts'])} are kept from the run of "
            f"{doc['kept_from']['date']} (`{doc['kept_from']['command']}`)."
            if doc.get("kept_from")
            else ""
        ),
        "`make bench` runs the full mode; `make bench-quick` the quick one. Each part is a script in "
        "`bench/` (see `bench/README.md`), run in its own process; the exact command of each part "
        "is given in its section. Every figure is the median of interleaved repeats "
        "(`for r in repeats: for contender in contenders`), and every ratio is formed from "
        "medians of the same run.",
        "",
        "## Machine",
        "",
        md_table(
            ["", ""],
            [
                ["CPU", m.get("cpu")],
                ["cores", m.get("cores")],
                ["memory", f"{m.get('memory_gib')} GiB"],
                ["OS", m.get("os")],
                [
                    "load average at start (1, 5, 15 min)",
                    ", ".join(f"{x:.2f}" for x in m.get("load_average_at_start", [])),
                ],
                ["GPU", _gpu_line(doc.get("gpu"))],
            ],
        ),
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        *_kept_provenance(doc),
        "The machine is shared: other jobs (test suites of other work in progress) may have run "
        "at the same time, which slows the contenders alike (they are interleaved) but can depress "
        "the 2-worker scaling figure, which needs both cores. The load average at the start is "
        "above; each part reports the load average at its own start and end.",
        "",
        "## Summary",
        "",
    ]
    rows = []
    for key, (part, target) in KEYS.items():
        val = doc["figures"][key]
        tgt = doc["targets"][key]
        if target is None:
            t, met = "(none)", ""
        else:
            t = f"{target[0]} {fmt(target[1])} {target[2]}"
            met = {True: "met", False: "**missed**", None: "n/a"}[tgt["met"]]
        rows.append([f"`{key}`", val, t, met, part])
    lines += [md_table(["figure", "value", "target", "", "measured by"], rows), ""]
    ex = doc.get("extra_figures") or {}
    notes = []
    if ex.get("ratio_vs_dataloader_paper_subset") is not None:
        notes.append(
            "on the 5,000-image subset the paper network is "
            f"{fmt(ex['ratio_vs_dataloader_paper_subset'])}x the DataLoader loop and "
            f"{fmt(ex.get('ratio_vs_lightning_paper_subset'))}x Lightning (the *_paper / *_small "
            "figures above are the full-size run's)"
        )
    if ex.get("full_size_cpu_time_ratio_vs_dataloader_paper") is not None:
        notes.append(
            "the full-size paper network by CPU time: "
            f"{fmt(ex['full_size_cpu_time_ratio_vs_dataloader_paper'])}x the DataLoader loop, "
            f"{fmt(ex.get('full_size_cpu_time_ratio_vs_lightning_paper'))}x Lightning, peak fraction "
            f"{fmt(ex.get('full_size_cpu_time_peak_fraction_paper'))}"
        )
    if ex.get("malloc_speedup") is not None:
        notes.append(
            f"nnlife's malloc environment: a 2-worker batch at {fmt(ex['malloc_speedup'])}x the speed "
            f"with Dask's, the workers' system time {fmt(ex.get('malloc_system_s_before'))} s -> "
            f"{fmt(ex.get('malloc_system_s_after'))} s"
        )
    if ex.get("cpu_time_peak_fraction_small") is not None:
        notes.append(
            f"from CPU time instead of wall time: {fmt(ex['cpu_time_ratio_vs_dataloader_small'])}x "
            f"and {fmt(ex.get('cpu_time_ratio_vs_lightning_small'))}x, peak fraction "
            f"{fmt(ex['cpu_time_peak_fraction_small'])} (small network)"
        )
    if ex.get("steps_only_peak_fraction_small") is not None:
        notes.append(
            "the bare SGD steps of the small network (no recording) reach a peak fraction "
            f"of {fmt(ex['steps_only_peak_fraction_small'])}: the eager-PyTorch ceiling"
        )
    if ex.get("scaling_2_workers_vs_workers_1") is not None:
        notes.append(
            f"2 workers against `generate_batch(workers=1)` (2 torch threads): "
            f"{fmt(ex['scaling_2_workers_vs_workers_1'])}x; training time alone: "
            f"{fmt(ex.get('scaling_2_workers_training_only'))}x"
        )
    if ex.get("fits_processes_s") is not None:
        notes.append(
            f"fits on Dask processes (2 cores): {fmt(ex['fits_processes_s'])} s; "
            f"`pd.read_csv` over the tables: {fmt(ex.get('read_csv_s'))} s"
        )
    if notes:
        lines += ["Beside them (in `extra_figures`): " + "; ".join(notes) + ".", ""]
    for part in PARTS:
        if sections is not None and sections.get(part):  # this run's, or kept from the last one
            lines += [sections[part].rstrip(), ""]
        elif part in results:
            lines += _part_lines(part, results[part], doc["runs"][part])
    lines += ["## 5. GPU", ""]
    gpu = doc.get("gpu")
    if gpu is None:
        lines += ["Not measured (the training benchmark did not run).", ""]
    else:
        lines += [gpu.get("markdown", "").rstrip(), ""]
        scaling = (results.get("scaling") or {}).get("details") or {}
        if gpu.get("available") and scaling.get("gpu"):
            lines += [
                md_table(
                    ["workers on one GPU", "lifespans per GPU-hour"],
                    [[k, v] for k, v in scaling["gpu"].items()],
                ),
                "",
            ]
    return "\n".join(lines) + "\n"


def _gpu_line(gpu) -> str:
    if not gpu:
        return "none measured"
    return gpu.get("summary") or "none measured"


if __name__ == "__main__":
    sys.exit(main())
