"""The catalog: many lifespan tables as one DataFrame (one row per lifespan) plus their curves.

``load_catalog(paths)`` reads any number of tables in either layout (folders, single files,
globs, several batches at once) and returns a ``Catalog``:

- ``table``: one row per lifespan: ``id``, ``dataset``, ``status``, ``layout``, ``source`` (the
  table's folder name), ``path``; the structure features of ``nnlife.structure`` (conv and FC
  layers, parameters, FLOPs, receptive field, final feature-map size, pooling and dropout counts,
  training hyperparameters); the lifecycle features of ``nnlife.lifecycle`` (final and best
  validation accuracy, overfitting onset, ...); and the shape class of ``nnlife.shapes``
  (``shape``: diverged, no_learning, unstable, overfitting, peaked, still_rising, saturating)
  with its evidence (``shape_*`` columns).
- ``curves``: every curve in long form: ``id``, ``dataset``, ``epoch``, ``train_loss``,
  ``train_acc``, ``val_loss``, ``val_acc``, ``elapsed_s`` (accuracies in percent), the input of
  ``nnlife.lifecycle``, ``nnlife.shapes`` and ``nnlife.curves``.
- ``broken``: the tables that could not be read, each with its path and the reason. They are left
  out (with one warning), never fatal: a half-written table must not stop an analysis.

``catalog(paths)`` is the same table alone (``DataFrame.attrs["broken"]`` lists the broken ones).

The cache: per folder of tables, ``<folder>/.nnlife-catalog/`` holds ``table.parquet``,
``curves.parquet`` and ``manifest.json`` (size and mtime in ns of every table read, the broken
ones with their message, and a key of the code that computed the columns). A later call stats the
tables, reuses every row whose file is unchanged and reads only new or changed tables, so a batch
that grows is cheap to catalog again. A folder that is read-only (its mode has no write bit: the
published samples in ``../shared/fixtures``, even for root) gets its cache under
``$NNLIFE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/nnlife`` or ``~/.cache/nnlife``), in
``catalog/<hash of the folder's path>/``; when no cache can be written the catalog still works,
uncached. Derived tables are rebuilt from the raw ones, never the other way (STYLE.md 10).

Speed (see the benchmarks issue: 6000 tables within 5 s on the first build, 0.5 s from the
cache): tables are parsed with ``nnlife.table.parse_record`` (no DataFrame per table); when many
tables are new they are parsed by Dask's multiprocessing scheduler over the machine's cores;
lifecycle features and shape labels are computed for all new curves at once (vectorised).
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import columns as C
from .errors import ParameterError, TableError

CACHE_DIRNAME = ".nnlife-catalog"       # beside the tables
CACHE_ENV = "NNLIFE_CACHE_DIR"          # fallback cache root for read-only folders
CACHE_FORMAT = 1                        # bump when the cache files change meaning
PARALLEL_MIN = 800                      # new tables below which parsing stays in this process
TABLE_SUFFIX = ".txt"
REPLAY_SUFFIX = ".replay.txt"           # replays written by nnlife.reproduce: not lifespans

# front columns of the catalog table, before the structure, lifecycle and shape columns
FRONT_COLUMNS = ("id", "dataset", "status", "layout", "source", "path")
CURVE_COLUMNS = ("id", "dataset") + C.CURVE_COLUMNS
# modules whose code decides the catalog's columns: a change to any of them rebuilds the cache
_KEY_MODULES = ("catalog", "structure", "lifecycle", "shapes", "table", "original", "spec", "columns")


@dataclass(frozen=True)
class BrokenTable:
    """A table left out of the catalog, and why."""

    path: str      # the table's path
    message: str   # what is wrong with it and the fix (TableError's message)


@dataclass(frozen=True, eq=False)
class Catalog:
    """Many lifespans: ``table`` (one row per lifespan), ``curves`` (long form), ``broken``.

    ``curves`` is read from the cache on first use when the catalog came from it.
    """

    table: pd.DataFrame
    broken: tuple[BrokenTable, ...] = ()
    _curves: list = field(default_factory=list, repr=False)   # [DataFrame] or [loader]

    @property
    def curves(self) -> pd.DataFrame:
        """Long form: id, dataset, epoch, train_loss, train_acc, val_loss, val_acc, elapsed_s."""
        if not self._curves:
            return _empty_curves()
        if callable(self._curves[0]):
            self._curves[0] = self._curves[0]()
        return self._curves[0]

    def broken_frame(self) -> pd.DataFrame:
        """The broken tables as a DataFrame (path, message)."""
        return pd.DataFrame([(b.path, b.message) for b in self.broken], columns=["path", "message"])

    def select(self, datasets=None, ids=None) -> "Catalog":
        """The lifespans of ``datasets`` (names matched case-insensitively; None or empty: all)
        and, if given, of ``ids``, with their curves."""
        keep = np.ones(len(self.table), dtype=bool)
        if datasets:
            from .spec import canonical_dataset
            try:
                wanted = {canonical_dataset(d) for d in datasets}
            except ValueError as e:
                raise ParameterError(str(e)) from None
            keep &= self.table["dataset"].isin(wanted).to_numpy()
        if ids is not None:
            keep &= self.table["id"].isin(list(ids)).to_numpy()
        if keep.all():
            return self
        table = self.table[keep].reset_index(drop=True)
        curves = self.curves
        curves = curves[curves["id"].isin(table["id"])].reset_index(drop=True)
        return Catalog(table=table, broken=self.broken, _curves=[curves])

    def sample(self, n: int, seed=0) -> "Catalog":
        """At most ``n`` lifespans drawn without replacement (all when there are fewer), in
        catalog order. seed: int or numpy Generator."""
        if n >= len(self.table):
            return self
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(self.table), n, replace=False))
        return self.select(ids=self.table["id"].iloc[pick])

    def summary(self) -> pd.DataFrame:
        """One row per dataset: networks, diverged ones, and final validation accuracy
        (median and best, percent); a last row "all"."""
        return summarize(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        ds = self.table["dataset"].value_counts().to_dict() if len(self.table) else {}
        return f"Catalog({len(self.table)} lifespans {ds}, {len(self.broken)} broken)"


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset (and "all"): networks, diverged, shape classes present, median and best
    final validation accuracy (percent)."""
    def block(t):
        acc = (pd.to_numeric(t["final_val_acc"], errors="coerce") if "final_val_acc" in t
               else pd.Series(dtype=float))
        row = {"networks": len(t), "diverged": int((t["status"] == C.STATUS_DIVERGED).sum())}
        if "shape" in t.columns:
            row["never learn"] = int((t["shape"] == "no_learning").sum())
        row["median final val acc (%)"] = float(acc.median()) if len(acc) else np.nan
        row["best final val acc (%)"] = float(acc.max()) if len(acc) else np.nan
        return row
    rows = {ds: block(t) for ds, t in table.groupby("dataset", sort=True)} if len(table) else {}
    rows["all"] = block(table) if len(table) else {"networks": 0, "diverged": 0}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "dataset"
    return out


# --- finding tables -----------------------------------------------------------------------------
def _is_table_name(name: str) -> bool:
    return name.endswith(TABLE_SUFFIX) and not name.endswith(REPLAY_SUFFIX) and not name.startswith(".")


def _walk(folder: str, out: list) -> None:
    """Append (path, stat) of every table under ``folder``, skipping hidden files and folders."""
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if e.name.startswith("."):
            continue
        if e.is_dir():
            _walk(e.path, out)
        elif _is_table_name(e.name) and e.is_file():
            out.append((e.path, e.stat()))


def find_tables(paths) -> list[tuple[Path, os.stat_result]]:
    """Every table that ``paths`` names, with its stat, in order, each once.

    paths: one path or a list of them; each a table file, a folder (every ``*.txt`` under it,
    recursively, except hidden ones and ``*.replay.txt``) or a glob (``data/batches/*/``,
    ``runs/**/*.txt``). Raises ParameterError when a path matches nothing, or when no table is
    found at all.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ParameterError("no data paths given: pass table files, folders of tables or globs")
    found: list = []
    for p in paths:
        text = os.fspath(p)
        if os.path.isdir(text):
            before = len(found)
            _walk(text, found)
            if len(found) == before:
                raise ParameterError(f"{text}: the folder holds no tables (*.txt); pass a batch "
                                     "folder or the published dataset's table folder")
        elif os.path.isfile(text):
            found.append((text, os.stat(text)))
        elif glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise ParameterError(f"{text}: the pattern matches no file or folder")
            for m in matches:
                if os.path.isdir(m):
                    _walk(m, found)
                elif _is_table_name(os.path.basename(m)):
                    found.append((m, os.stat(m)))
        else:
            raise ParameterError(f"{text}: no such file or folder (working directory: {os.getcwd()})")
    # each table once, by its real path (a folder given twice, or a file and its folder);
    # realpath per folder, not per file: 6000 realpath calls cost a tenth of a second
    seen, out, real_dirs = set(), [], {}
    for path, st in found:
        folder, name = os.path.split(path)
        real_dir = real_dirs.get(folder)
        if real_dir is None:
            real_dir = real_dirs[folder] = os.path.realpath(folder or ".")
        real = os.path.join(real_dir, name)
        if os.path.islink(path):
            real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            out.append((Path(real), st))
    if not out:
        raise ParameterError(f"no tables (*.txt) found in {[os.fspath(p) for p in paths]}")
    return out


# --- parsing ------------------------------------------------------------------------------------
def _parse_chunk(folder: str, names: list, expected_epochs):
    """Parse tables ``folder/name``: (rows, curve blocks, broken). Runs in a worker process too.

    rows: one dict per readable table (front columns and structure features, ``_file``);
    blocks: one (n, 6) float array per readable table, the columns of ``C.CURVE_COLUMNS``;
    broken: (name, message) for each table that cannot be read.
    """
    from .structure import structure_features
    from .table import parse_record

    rows, blocks, broken = [], [], []
    for name in names:
        path = os.path.join(folder, name)
        try:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except UnicodeDecodeError:
                raise TableError(f"{path}: not a text table (cannot be decoded as UTF-8)") from None
            except OSError as e:
                raise TableError(f"{path}: cannot be read ({e.strerror})") from None
            stem = name[: -len(TABLE_SUFFIX)]
            rec = parse_record(text, path, stem, expected_epochs)
            row = {"id": rec.id, "status": rec.status, "layout": rec.layout, "_file": name}
            row.update(structure_features(rec.net, rec.train))
        except TableError as e:
            broken.append((name, str(e)))
            continue
        except Exception as e:  # a reader bug must not stop the catalog: report it by name
            broken.append((name, f"{path}: unexpected {type(e).__name__} while reading: {e}"))
            continue
        a = rec.arrays
        n = len(a["epoch"])
        nan = np.full(n, np.nan)
        block = np.column_stack([a["epoch"], a["train_loss"],
                                 nan if a["train_acc"] is None else a["train_acc"],
                                 a["val_loss"], a["val_acc"],
                                 nan if a["elapsed_s"] is None else a["elapsed_s"]])
        rows.append(row)
        blocks.append(block)
    return rows, blocks, broken


def _n_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _parse_many(folder: str, names: list, expected_epochs, workers):
    """Parse ``names`` in ``folder``; on many new tables in parallel with Dask's processes."""
    workers = _n_workers() if workers is None else max(1, int(workers))
    if workers < 2 or len(names) < PARALLEL_MIN:
        return _parse_chunk(folder, names, expected_epochs)
    import dask
    # contiguous chunks, a few per worker so a slow chunk does not leave a core idle
    n_chunks = workers * 2
    bounds = np.linspace(0, len(names), n_chunks + 1).astype(int)
    tasks = [dask.delayed(_parse_chunk)(folder, names[a:b], expected_epochs)
             for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    # fork: workers inherit the imported modules (no second start-up of numpy and pandas, which
    # would cost about what the parsing saves); they run only the parser, so locks held by the
    # parent's other threads do not matter. Python 3.12 deprecates fork in threaded processes.
    if sys.version_info < (3, 12) and hasattr(os, "fork"):
        context = "fork"
    else:
        context = "forkserver" if hasattr(os, "fork") else "spawn"
    with dask.config.set({"multiprocessing.context": context}):
        parts = dask.compute(*tasks, scheduler="processes", num_workers=workers)
    rows, blocks, broken = [], [], []
    for r, b, k in parts:
        rows += r
        blocks += b
        broken += k
    return rows, blocks, broken


def _empty_curves() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=float) for c in CURVE_COLUMNS})
    df["id"] = df["id"].astype(str)
    df["dataset"] = df["dataset"].astype(str)
    return df


def _frames(rows, blocks):
    """(table, curves) DataFrames of parsed tables, with the derived columns added."""
    table = pd.DataFrame(rows)
    if not rows:
        return table, _empty_curves()
    lengths = np.array([len(b) for b in blocks])
    values = np.concatenate(blocks) if blocks else np.empty((0, 6))
    curves = pd.DataFrame({
        "id": np.repeat(table["id"].to_numpy(dtype=object), lengths),
        "dataset": np.repeat(table["dataset"].to_numpy(dtype=object), lengths),
    })
    for j, name in enumerate(C.CURVE_COLUMNS):
        curves[name] = values[:, j]
    curves["id"] = curves["id"].astype(str)
    curves["dataset"] = curves["dataset"].astype(str)
    return _derive(table, curves), curves


def _derive(table: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus the lifecycle features and shape labels of ``curves`` (merged on id)."""
    from .lifecycle import lifecycle_features

    life = lifecycle_features(curves)
    life = life.drop(columns=[c for c in life.columns if c != "id" and c in table.columns])
    out = table.merge(life, on="id", how="left", validate="one_to_one")
    shapes = _shape_labels(curves, table)
    return out.merge(shapes, on="id", how="left", validate="one_to_one")


def _shape_labels(curves: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``shape`` (nnlife.shapes' label) and its evidence, as ``shape_*`` columns, per id.

    The evidence that repeats a column the catalog already has (final and best accuracy, row
    counts, chance level) is left out: the lifecycle features hold those, unsmoothed.
    """
    from .shapes import classify_shapes

    shapes = classify_shapes(curves)
    repeats = ("chance", "best_val_acc", "final_val_acc", "n_rows", "n_nonfinite")
    shapes = shapes.drop(columns=[c for c in repeats if c in shapes.columns])
    return shapes.rename(columns={c: ("shape" if c == "label" else f"shape_{c}")
                                  for c in shapes.columns if c != "id"})


# --- the cache ----------------------------------------------------------------------------------
def _code_key(expected_epochs) -> str:
    h = hashlib.sha1(f"{CACHE_FORMAT}|{expected_epochs!r}".encode())
    here = Path(__file__).resolve().parent
    for mod in _KEY_MODULES:
        p = here / f"{mod}.py"
        h.update(mod.encode())
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()


def _user_cache_root() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "nnlife"


def _writable(folder: Path) -> bool:
    """Whether nnlife may write into ``folder``: it has a write bit (respected even by root,
    whom os.access lets write anywhere) and the process may write there."""
    try:
        st = folder.stat()
    except OSError:
        return False
    return bool(st.st_mode & 0o222) and os.access(folder, os.W_OK | os.X_OK)


def cache_dir(folder) -> Path:
    """Where the catalog cache of the tables in ``folder`` lives (it may not exist yet)."""
    folder = Path(folder)
    if _writable(folder):
        return folder / CACHE_DIRNAME
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:16]
    return _user_cache_root() / "catalog" / f"{folder.name or 'root'}-{digest}"


class _GroupCache:
    """The cache files of one folder of tables."""

    def __init__(self, folder: Path, key: str):
        self.folder = folder
        self.dir = cache_dir(folder)
        self.key = key
        self.manifest_path = self.dir / "manifest.json"
        self.table_path = self.dir / "table.parquet"
        self.curves_path = self.dir / "curves.parquet"

    def load_manifest(self):
        try:
            m = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None
        if m.get("format") != CACHE_FORMAT or m.get("key") != self.key:
            return None
        return m

    def read_table(self, token: str):
        import pyarrow.parquet as pq
        t = pq.read_table(self.table_path)
        if (t.schema.metadata or {}).get(b"nnlife_token", b"").decode() != token:
            raise OSError("table.parquet does not belong to manifest.json")
        return t.to_pandas()

    def read_curves(self, token: str):
        import pyarrow.parquet as pq
        t = pq.read_table(self.curves_path)
        if (t.schema.metadata or {}).get(b"nnlife_token", b"").decode() != token:
            raise OSError("curves.parquet does not belong to manifest.json")
        return t.to_pandas()

    def write(self, table: pd.DataFrame, curves: pd.DataFrame, tables: dict, broken: dict) -> None:
        """Write the three files atomically (temporary file, then rename); the manifest last,
        and a token shared by all three, so a reader never mixes two writers' files."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        self.dir.mkdir(parents=True, exist_ok=True)
        token = f"{os.getpid()}-{time.time_ns()}"
        for df, path in ((table, self.table_path), (curves, self.curves_path)):
            t = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
            t = t.replace_schema_metadata({**(t.schema.metadata or {}), b"nnlife_token": token.encode()})
            tmp = path.with_name(f".{path.name}.{token}.tmp")
            pq.write_table(t, tmp, compression="zstd")
            os.replace(tmp, path)
        manifest = {"format": CACHE_FORMAT, "key": self.key, "token": token,
                    "folder": str(self.folder), "tables": tables, "broken": broken}
        tmp = self.manifest_path.with_name(f".manifest.json.{token}.tmp")
        tmp.write_text(json.dumps(manifest))
        os.replace(tmp, self.manifest_path)


def _stat_key(st: os.stat_result) -> list:
    return [st.st_size, st.st_mtime_ns]


def _load_group(folder: Path, files: list, expected_epochs, cache: bool, workers, key: str):
    """Catalog rows, a curve loader and broken tables of ``files`` (name, stat) in ``folder``."""
    gc = _GroupCache(folder, key) if cache else None
    names = [n for n, _ in files]
    selected = set(names)
    stats = {n: _stat_key(st) for n, st in files}
    manifest = gc.load_manifest() if gc else None
    old_table = None
    if manifest is not None:
        try:
            old_table = gc.read_table(manifest["token"])
        except (OSError, ValueError, KeyError):  # damaged or half-replaced: rebuild it
            manifest = None
    cached_tables = manifest["tables"] if manifest else {}
    cached_broken = manifest["broken"] if manifest else {}
    new = [n for n in names if cached_tables.get(n) != stats[n]
           and (cached_broken.get(n) or [None, None])[:2] != stats[n]]

    if not new:  # cache hit: every selected table is in the cache, unchanged
        table = old_table
        if len(table) != len(selected):
            table = table[table["_file"].isin(selected)]
        broken = [(n, cached_broken[n][2]) for n in names if n in cached_broken]
        token = manifest["token"]
        ids = set(table["id"])
        if len(table):
            return table, (lambda: _filter_ids(gc.read_curves(token), ids, len(table))), broken
        return table, _empty_curves, broken

    # cached entries that stay: unchanged, and either selected or still on disk
    def stays(n):
        return n not in new and (n in selected or os.path.exists(folder / n))

    keep_tables = {n: v for n, v in cached_tables.items() if stays(n)}
    keep_broken = {n: v for n, v in cached_broken.items() if stays(n)}
    old_curves = None
    if old_table is not None and len(old_table):
        old_table = old_table[old_table["_file"].isin(keep_tables)]
        try:
            old_curves = gc.read_curves(manifest["token"])
            old_curves = old_curves[old_curves["id"].isin(set(old_table["id"]))]
        except (OSError, ValueError, KeyError):  # curves lost: read every table again
            old_table, keep_tables, keep_broken = None, {}, {}
            new = list(names)
    rows, blocks, broken_new = _parse_many(str(folder), new, expected_epochs, workers)

    # an id that another table of this folder already has: left out, and not cached, so that it
    # is read again (and accepted) once the other table is gone
    taken = dict(zip(old_table["id"], old_table["_file"])) if old_table is not None else {}
    dup_broken, ok_rows, ok_blocks = [], [], []
    for row, block in zip(rows, blocks):
        if row["id"] in taken:
            dup_broken.append((row["_file"], f"{folder / row['_file']}: id {row['id']} is also the "
                               f"id of {folder / taken[row['id']]}; left out (remove one of the two)"))
            continue
        taken[row["id"]] = row["_file"]
        ok_rows.append(row)
        ok_blocks.append(block)
    table, curves = _frames(ok_rows, ok_blocks)
    if old_table is not None and len(old_table):
        table = pd.concat([old_table, table], ignore_index=True) if len(table) else old_table
        curves = pd.concat([old_curves, curves], ignore_index=True) if len(curves) else old_curves
    if len(table) == 0:
        table = pd.DataFrame({"_file": pd.Series(dtype=str), "id": pd.Series(dtype=str)})
    if gc is not None:
        tables = dict(keep_tables)
        tables.update({r["_file"]: stats[r["_file"]] for r in ok_rows})
        broken_m = dict(keep_broken)
        broken_m.update({n: stats[n] + [msg] for n, msg in broken_new})
        try:
            gc.write(table, curves, tables, broken_m)
        except OSError as e:
            warnings.warn(f"nnlife.catalog: cannot write the cache in {gc.dir} ({e}); "
                          "continuing without it", stacklevel=3)
    if len(table) != len(selected):
        table = table[table["_file"].isin(selected)]
    curves = _filter_ids(curves, set(table["id"]), len(table))
    broken = [(n, keep_broken[n][2]) for n in names if n in keep_broken]
    broken += broken_new + dup_broken
    order = {n: i for i, n in enumerate(names)}
    broken.sort(key=lambda b: order.get(b[0], 0))
    return table, (lambda: curves), broken


def _filter_ids(curves: pd.DataFrame, ids: set, n_ids: int) -> pd.DataFrame:
    if curves["id"].nunique() == n_ids:
        return curves
    return curves[curves["id"].isin(ids)].reset_index(drop=True)


# --- public -------------------------------------------------------------------------------------
def load_catalog(paths, cache: bool = True, expected_epochs: float | None = None,
                 warn: bool = True, workers: int | None = None) -> Catalog:
    """Read every table that ``paths`` names into a ``Catalog`` (table, curves, broken).

    paths: a table, a folder of tables (searched recursively), a glob, or a list of these; both
        layouts (the published dataset's and nnlife's) may be mixed.
    cache: read and update the Parquet cache (see the module docstring); False reads every table.
    expected_epochs: epochs an original-layout table must cover (e.g. 40 for the published
        dataset); None accepts any complete sequence of records (``nnlife.read_lifespan``).
    warn: issue one UserWarning naming the broken tables (they are in ``Catalog.broken`` anyway).
    workers: processes for parsing many new tables (default: the cores this process may use).
    Returns the catalog, rows in the order of ``paths`` (tables of one folder by file name).
    Raises ParameterError when a path matches nothing or no table is found; a table that cannot
    be read is left out and listed in ``broken``, never raised.
    """
    found = find_tables(paths)
    key = _code_key(expected_epochs)
    groups: dict[str, list] = {}
    for path, st in found:
        groups.setdefault(str(path.parent), []).append((path.name, st))
    tables, loaders, broken = [], [], []
    for folder, files in groups.items():
        table, loader, bad = _load_group(Path(folder), files, expected_epochs, cache, workers, key)
        if len(table):
            table = table.assign(source=Path(folder).name,
                                 path=[os.path.join(folder, f) for f in table["_file"]])
        tables.append(table)
        loaders.append(loader)
        broken += [BrokenTable(os.path.join(folder, n), msg) for n, msg in bad]
    table, curve_loader, dup = _assemble(tables, loaders)
    broken += dup
    if warn and broken:
        shown = "; ".join(b.message for b in broken[:5])
        more = f" (and {len(broken) - 5} more)" if len(broken) > 5 else ""
        warnings.warn(f"nnlife.catalog: left out {len(broken)} broken table(s): {shown}{more}",
                      UserWarning, stacklevel=2)
    return Catalog(table=table, broken=tuple(broken), _curves=[curve_loader])


def _assemble(tables, loaders):
    """One table from the folders' tables: front columns first, ids unique (a later duplicate
    is left out and reported), and a loader of the matching curves."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return pd.DataFrame(columns=list(FRONT_COLUMNS)), _empty_curves, []
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0].reset_index(drop=True)
    dup = table["id"].duplicated()
    broken = []
    if dup.any():
        first = dict(zip(table.loc[~dup, "id"], table.loc[~dup, "path"]))
        for _, r in table[dup].iterrows():
            broken.append(BrokenTable(r["path"], f"{r['path']}: id {r['id']} is also the id of "
                                      f"{first[r['id']]}; left out (the same table given twice?)"))
        dropped_paths = set(table.loc[dup, "path"])
        table = table[~dup].reset_index(drop=True)
    else:
        dropped_paths = set()
    front = [c for c in FRONT_COLUMNS if c in table.columns]
    rest = [c for c in table.columns if c not in FRONT_COLUMNS and c != "_file"]
    table = table[front + rest]

    def curves():
        parts = []
        for t, load in zip(tables, loaders):
            c = load()
            if dropped_paths:
                bad_ids = set(t.loc[t["path"].isin(dropped_paths), "id"])
                c = c[~c["id"].isin(bad_ids)]
            parts.append(c)
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        return out[list(CURVE_COLUMNS)]

    return table, curves, broken


def catalog(paths, cache: bool = True, expected_epochs: float | None = None, warn: bool = True,
            workers: int | None = None) -> pd.DataFrame:
    """One row per lifespan over every table that ``paths`` names (see ``load_catalog``).

    The broken tables are in ``result.attrs["broken"]`` as (path, message) pairs. For the curves
    in long form use ``load_catalog(paths).curves``.
    """
    cat = load_catalog(paths, cache=cache, expected_epochs=expected_epochs, warn=warn, workers=workers)
    table = cat.table
    table.attrs["broken"] = [(b.path, b.message) for b in cat.broken]
    return table


__all__ = ["Catalog", "BrokenTable", "load_catalog", "catalog", "find_tables", "cache_dir", "summarize",
           "CACHE_DIRNAME", "CACHE_ENV", "CURVE_COLUMNS", "FRONT_COLUMNS"]

