"""Reading a folder of tables for the catalog, incrementally, through its Parquet cache.

Where the cache lives: never in the folder of tables (data folders are shared, published or
read-only; nnlife does not write into them when it only reads them). Each folder gets its own
cache under ``$NNLIFE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/nnlife``, else ``~/.cache/nnlife``),
in ``catalog/<folder name>-<hash of its real path>/``: ``table.parquet``, ``curves.parquet`` and
``manifest.json``. ``cache_dir(folder)`` says where; deleting it only costs a rebuild.

What the cache trusts: nothing it has not checked. The manifest records, per table read, its
size, mtime (ns) and a BLAKE2b hash of its bytes (the broken ones with their message), a key of
the code that computed the columns (``KEY_MODULES``), and a BLAKE2b hash of each Parquet file.
``load_group`` hashes every selected table (a read of bytes the parser would read anyway, far
cheaper than parsing) and parses only the new or changed ones, so an edit that keeps size and
mtime is still seen; a Parquet file whose hash is not the manifest's (edited or damaged outside
nnlife) is reported in a UserWarning and the cache is rebuilt from the tables. New tables are
parsed with Dask's multiprocessing scheduler when many are new; their lifecycle features and
shape labels are computed at once. The cache files are written atomically (``nnlife.atomic``),
the manifest last, with a token shared by all three, so a reader never mixes two writers' files.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import columns as C
from ..atomic import atomic_write
from ..errors import TableError
from ..table import TABLE_SUFFIX

CACHE_DIRNAME = ".nnlife-catalog"  # where nnlife before 0.2 put the cache (beside the tables); unused
CACHE_ENV = "NNLIFE_CACHE_DIR"  # the cache root (default $XDG_CACHE_HOME/nnlife or ~/.cache/nnlife)
CACHE_FORMAT = 2  # bump when the cache files change meaning (2: content and file hashes)
PARALLEL_MIN = 800  # new tables below which parsing stays in this process
CURVE_COLUMNS = ("id", "dataset") + C.CURVE_COLUMNS  # the catalog's long form
# modules (under nnlife/) whose code decides the catalog's columns: a change to any rebuilds the cache
KEY_MODULES = (
    "analyse/catalog",
    "analyse/cache",
    "analyse/structure",
    "analyse/lifecycle",
    "analyse/long",
    "analyse/shapes",
    "table",
    "original",
    "spec",
    "columns",
    "datasets",
    "curvecheck",
    "limits",
)


@dataclass(frozen=True)
class BrokenTable:
    """A table left out of the catalog, and why."""

    path: str  # the table's path
    message: str  # what is wrong with it and the fix (TableError's message)


# --- parsing --------------------------------------------------------------------------------------
def _parse_chunk(folder: str, names: list, expected_epochs):
    """Parse tables ``folder/name``: (rows, curve blocks, broken). Runs in a worker process too.

    rows: one dict per readable table (front columns and structure features, ``_file``);
    blocks: one (n, 6) float array per readable table, the columns of ``C.CURVE_COLUMNS``;
    broken: (name, message) for each table that cannot be read.
    """
    from ..table import parse_record
    from .structure import structure_features

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
        block = np.column_stack(
            [
                a["epoch"],
                a["train_loss"],
                nan if a["train_acc"] is None else a["train_acc"],
                a["val_loss"],
                a["val_acc"],
                nan if a["elapsed_s"] is None else a["elapsed_s"],
            ]
        )
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
    tasks = [
        dask.delayed(_parse_chunk)(folder, names[a:b], expected_epochs)
        for a, b in zip(bounds[:-1], bounds[1:])
        if b > a
    ]
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


def empty_curves() -> pd.DataFrame:
    """The catalog's long form with no rows (the right columns and dtypes)."""
    df = pd.DataFrame({c: pd.Series(dtype=float) for c in CURVE_COLUMNS})
    df["id"] = df["id"].astype(str)
    df["dataset"] = df["dataset"].astype(str)
    return df


def _frames(rows, blocks):
    """(table, curves) DataFrames of parsed tables, with the derived columns added."""
    table = pd.DataFrame(rows)
    if not rows:
        return table, empty_curves()
    lengths = np.array([len(b) for b in blocks])
    values = np.concatenate(blocks) if blocks else np.empty((0, 6))
    curves = pd.DataFrame(
        {
            "id": np.repeat(table["id"].to_numpy(dtype=object), lengths),
            "dataset": np.repeat(table["dataset"].to_numpy(dtype=object), lengths),
        }
    )
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
    return shapes.rename(
        columns={c: ("shape" if c == "label" else f"shape_{c}") for c in shapes.columns if c != "id"}
    )


# --- the cache ------------------------------------------------------------------------------------
def code_key(expected_epochs) -> str:
    """A key of the code that computes the catalog's columns (and of ``expected_epochs``)."""
    h = hashlib.sha1(f"{CACHE_FORMAT}|{expected_epochs!r}".encode())
    here = Path(__file__).resolve().parents[1]  # nnlife/
    for mod in KEY_MODULES:
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


def cache_dir(folder) -> Path:
    """Where the catalog cache of the tables in ``folder`` lives (it may not exist yet): under the
    user's cache root (``CACHE_ENV``), never in ``folder`` itself."""
    folder = Path(folder)
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

    def verify(self, manifest: dict) -> None:
        """TamperedCache unless both Parquet files hash to what the manifest says they were."""
        files = manifest.get("files") or {}
        for path in (self.table_path, self.curves_path):
            if _digest(path.read_bytes()) != files.get(path.name):
                again = self.load_manifest()
                if again is not None and again.get("token") != manifest.get("token"):
                    raise OSError("replaced by another catalog meanwhile")  # a writer, not a tamperer
                raise TamperedCache(
                    f"{path} is not the file nnlife wrote (its BLAKE2b hash is not the one in "
                    f"{self.manifest_path}: edited or damaged since)"
                )

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
        files = {}
        for df, path in ((table, self.table_path), (curves, self.curves_path)):
            t = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
            t = t.replace_schema_metadata({**(t.schema.metadata or {}), b"nnlife_token": token.encode()})
            buf = pa.BufferOutputStream()
            pq.write_table(t, buf, compression="zstd")
            data = buf.getvalue().to_pybytes()
            atomic_write(path, data)
            files[path.name] = _digest(data)
        manifest = {
            "format": CACHE_FORMAT,
            "key": self.key,
            "token": token,
            "files": files,
            "folder": str(self.folder),
            "tables": tables,
            "broken": broken,
        }
        atomic_write(self.manifest_path, json.dumps(manifest))


class TamperedCache(OSError):
    """A cache file that is not what nnlife wrote: the cache is rebuilt, with a warning."""


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _table_key(folder: Path, name: str, st: os.stat_result, cached: list | None) -> list:
    """[size, mtime ns, ctime ns, BLAKE2b of the bytes] of a table (hash None: unreadable).

    The bytes are hashed again unless size, mtime and ctime are all the cached ones: an edit
    that restores the mtime (``os.utime``) still moves the ctime, which nobody can set back, so
    such an edit is always hashed, and a table whose hash is unchanged keeps its cached row.
    """
    stat_key = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    if cached is not None and list(cached[:3]) == stat_key:
        return stat_key + [cached[3]]
    try:
        with open(folder / name, "rb") as f:
            digest = _digest(f.read())
    except OSError:
        digest = None
    return stat_key + [digest]


_KEY_LEN = 4  # a table's cache entry: size, mtime, ctime, hash; a broken one's: then its message


def _unchanged(entry: list | None, key: list) -> bool:
    return entry is not None and key[3] is not None and entry[3] == key[3]


def load_group(folder: Path, files: list, expected_epochs, cache: bool, workers, key: str):
    """Catalog rows, a curve loader and broken tables of ``files`` (name, stat) in ``folder``."""
    gc = _GroupCache(folder, key) if cache else None
    names = [n for n, _ in files]
    selected = set(names)
    manifest = gc.load_manifest() if gc else None
    old_table = None
    if manifest is not None:
        try:
            gc.verify(manifest)
            old_table = gc.read_table(manifest["token"])
        except TamperedCache as e:
            warnings.warn(
                f"nnlife.catalog: {e}; rebuilding the cache from the tables", UserWarning, stacklevel=3
            )
            manifest = None
        except (OSError, ValueError, KeyError):  # damaged or half-replaced: rebuild it
            manifest = None
    cached_tables = manifest["tables"] if manifest else {}
    cached_broken = manifest["broken"] if manifest else {}
    # a table is read again when its content hash is not the cached one (see _table_key)
    stats = {
        n: _table_key(folder, n, st, cached_tables.get(n) or cached_broken.get(n))
        if gc
        else [st.st_size, st.st_mtime_ns, st.st_ctime_ns, None]
        for n, st in files
    }
    new = [
        n
        for n in names
        if not _unchanged(cached_tables.get(n), stats[n]) and not _unchanged(cached_broken.get(n), stats[n])
    ]

    if not new:  # cache hit: every selected table is in the cache, unchanged
        table = old_table
        if len(table) != len(selected):
            table = table[table["_file"].isin(selected)]
        broken = [(n, cached_broken[n][_KEY_LEN]) for n in names if n in cached_broken]
        token = manifest["token"]
        ids = set(table["id"])
        if len(table):
            return table, (lambda: _filter_ids(gc.read_curves(token), ids, len(table))), broken
        return table, empty_curves, broken

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

    taken = dict(zip(old_table["id"], old_table["_file"])) if old_table is not None else {}
    ok_rows, ok_blocks, dup_broken = _unique_ids(folder, rows, blocks, taken)
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
            warnings.warn(
                f"nnlife.catalog: cannot write the cache in {gc.dir} ({e}); continuing without it",
                stacklevel=3,
            )
    if len(table) != len(selected):
        table = table[table["_file"].isin(selected)]
    curves = _filter_ids(curves, set(table["id"]), len(table))
    broken = [(n, keep_broken[n][_KEY_LEN]) for n in names if n in keep_broken]
    broken += broken_new + dup_broken
    order = {n: i for i, n in enumerate(names)}
    broken.sort(key=lambda b: order.get(b[0], 0))
    return table, (lambda: curves), broken


def _unique_ids(folder: Path, rows, blocks, taken: dict):
    """(rows, blocks, broken) without the tables whose id another table of the folder already has
    (``taken``: id -> file). Those are left out, and not cached, so that one is read again (and
    accepted) once the other table is gone."""
    dup_broken, ok_rows, ok_blocks = [], [], []
    for row, block in zip(rows, blocks):
        if row["id"] in taken:
            dup_broken.append(
                (
                    row["_file"],
                    f"{folder / row['_file']}: id {row['id']} is also the "
                    f"id of {folder / taken[row['id']]}; left out (remove one of the two)",
                )
            )
            continue
        taken[row["id"]] = row["_file"]
        ok_rows.append(row)
        ok_blocks.append(block)
    return ok_rows, ok_blocks, dup_broken


def _filter_ids(curves: pd.DataFrame, ids: set, n_ids: int) -> pd.DataFrame:
    if curves["id"].nunique() == n_ids:
        return curves
    return curves[curves["id"].isin(ids)].reset_index(drop=True)


__all__ = [
    "BrokenTable",
    "CACHE_DIRNAME",
    "CACHE_ENV",
    "CACHE_FORMAT",
    "CURVE_COLUMNS",
    "KEY_MODULES",
    "PARALLEL_MIN",
    "cache_dir",
    "code_key",
    "empty_curves",
    "load_group",
]
