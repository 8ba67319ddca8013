"""Helpers of the fault tests: folder snapshots, expected errors, the `nnlife` command, table edits.

Every bad input must give one specific nnlife exception (or, on the command line, exit status 2
and one line on stderr, no traceback) whose message names the input, and must leave every file
as it was. ``expect_error`` and ``expect_cli_error`` check all three; each records what it saw
(``OUTCOMES``), which ``conftest.py`` writes out as the note's table when asked
(``NNLIFE_FAULTS_NOTE=path``).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nnlife.errors import NnlifeError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
PUBLISHED = FIXTURES / "original-format"
SMALLEST = PUBLISHED / "2021_02_15_14_01_32_105932.txt"  # the smallest published network
NNLIFE = Path(sys.executable).with_name("nnlife")  # the console script of this venv
FMNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist

OUTCOMES: list[tuple[str, str, str]] = []  # (test id, behaviour, message excerpt)


def current_test() -> str:
    name = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0].split("::")[-1]
    return re.sub(r"-(<lambda>|None)(?=[-\]])", "", name)


def record(behaviour: str, message: str = "") -> None:
    message = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/ ]+", "<tmp>", message)
    OUTCOMES.append((current_test(), behaviour, " ".join(message.split())[:160]))


# --- snapshots ------------------------------------------------------------------------------------
def snapshot(root) -> dict:
    """Every entry under ``root`` (not following links): files with size, mtime (ns) and BLAKE2b
    of the content; links with their target; folders; other entries (pipes, ...) with mtime."""
    root = Path(root)
    out = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            rel = str(p.relative_to(root))
            if stat.S_ISREG(st.st_mode):
                out[rel] = ("file", st.st_size, st.st_mtime_ns, hashlib.blake2b(p.read_bytes()).hexdigest())
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    return out


def assert_unchanged(before: dict, after: dict) -> None:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    assert not (added or removed or changed), (
        f"disk changed: added {added}, removed {removed}, changed {changed}"
    )


# --- expected errors -------------------------------------------------------------------------------
def expect_error(fn, exc: type, names, watch) -> BaseException:
    """Call ``fn()``; it must raise ``exc`` (an NnlifeError) whose message holds every string of
    ``names``, and leave every folder of ``watch`` unchanged. Returns the exception."""
    watch = [watch] if isinstance(watch, (str, os.PathLike)) else list(watch)
    before = [snapshot(w) for w in watch]
    with pytest.raises(BaseException) as info:
        fn()
    err = info.value
    assert isinstance(err, exc), f"expected {exc.__name__}, got {type(err).__name__}: {err}"
    assert isinstance(err, NnlifeError), f"{type(err).__name__} is not an nnlife error: {err}"
    msg = str(err)
    for n in [names] if isinstance(names, str) else names:
        assert str(n) in msg, f"the message does not name {n!r}: {msg}"
    for w, b in zip(watch, before):
        assert_unchanged(b, snapshot(w))
    record(type(err).__name__, msg)
    return err


def expect_ok(fn, watch=(), behaviour: str = "works"):
    """Call ``fn()`` (a GOOD case: it must not raise); ``watch`` folders must stay unchanged."""
    watch = [watch] if isinstance(watch, (str, os.PathLike)) else list(watch)
    before = [snapshot(w) for w in watch]
    result = fn()
    for w, b in zip(watch, before):
        assert_unchanged(b, snapshot(w))
    record(behaviour)
    return result


# --- the command line, and calls that might hang or eat the memory -----------------------------------
MEMORY_LIMIT = 8 * 2**30  # address space of a child process: a runaway read fails, not the machine


def _limit_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cli(args, cwd, timeout: float = 300, env=None) -> subprocess.CompletedProcess:
    """Run ``nnlife ARGS`` in ``cwd`` (address space limited); a hang fails after ``timeout`` s."""
    e = dict(os.environ)
    e.update(env or {})
    try:
        return subprocess.run(
            [str(NNLIFE), *map(str, args)],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=e,
            stdin=subprocess.DEVNULL,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"nnlife {' '.join(map(str, args))} hung for {timeout} s")


def isolated_error(call: str, timeout: float = 60) -> tuple[str, bool, str]:
    """Evaluate the Python expression ``call`` (``nnlife`` imported) in a child process with limited
    memory; return (exception type name, whether it is an NnlifeError, message); '' when none."""
    code = (
        "import json, nnlife\nfrom nnlife.errors import NnlifeError\n"
        f"try:\n    {call}\n    print(json.dumps(['', False, '']))\n"
        "except BaseException as e:\n"
        "    print(json.dumps([type(e).__name__, isinstance(e, NnlifeError), str(e)]))\n"
    )
    try:
        r = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{call} hung for {timeout} s")
    import json

    assert r.returncode == 0 and r.stdout.strip(), r.stderr[-3000:]
    return tuple(json.loads(r.stdout.strip().splitlines()[-1]))


def expect_isolated_error(call: str, exc: type, names, watch) -> str:
    """``expect_error`` for a call that might hang or eat the memory when broken (in a child)."""
    watch = [watch] if isinstance(watch, (str, os.PathLike)) else list(watch)
    before = [snapshot(w) for w in watch]
    name, is_nnlife, msg = isolated_error(call)
    assert name == exc.__name__ and is_nnlife, f"expected {exc.__name__}, got {name or 'no error'}: {msg}"
    for n in [names] if isinstance(names, str) else names:
        assert str(n) in msg, f"the message does not name {n!r}: {msg}"
    for w, b in zip(watch, before):
        assert_unchanged(b, snapshot(w))
    record(name, msg)
    return msg


def expect_cli_error(args, names, watch, cwd, timeout: float = 300, env=None) -> str:
    """``nnlife ARGS`` must exit with status 2 and one line on stderr that names every string of
    ``names``, with no traceback, and leave every folder of ``watch`` unchanged. Returns the line."""
    watch = [watch] if isinstance(watch, (str, os.PathLike)) else list(watch)
    before = [snapshot(w) for w in watch]
    r = cli(args, cwd, timeout, env)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr[-3000:]}"
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {r.stderr[-3000:]}"
    line = lines[0]
    assert line.startswith("nnlife"), line
    for n in [names] if isinstance(names, str) else names:
        assert str(n) in line, f"the message does not name {n!r}: {line}"
    for w, b in zip(watch, before):
        assert_unchanged(b, snapshot(w))
    record("exit 2", line)
    return line


def copy_published(folder: Path) -> Path:
    """The three published tables (only them) copied into ``folder`` (created)."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for p in sorted(PUBLISHED.glob("*.txt")):
        shutil.copy(p, folder / p.name)
    return folder


# --- editing tables ------------------------------------------------------------------------------------
def rows_of(text: str) -> tuple[list[str], list[list[str]]]:
    lines = text.splitlines()
    return lines[0].split(" "), [ln.split(" ") for ln in lines[1:]]


def join(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join([" ".join(header)] + [" ".join(r) for r in rows]) + "\n"


def set_field(text: str, column: str, value: str, row: int = 0) -> str:
    """``text`` with data row ``row`` (0 = the first) of ``column`` set to ``value``."""
    header, rows = rows_of(text)
    rows[row][header.index(column)] = value
    return join(header, rows)


def set_from(text: str, column: str, value: str, start: int) -> str:
    """``text`` with ``column`` set to ``value`` in every data row from ``start`` on."""
    header, rows = rows_of(text)
    for r in rows[start:]:
        r[header.index(column)] = value
    return join(header, rows)


def keep_rows(text: str, n: int) -> str:
    header, rows = rows_of(text)
    return join(header, rows[:n])


def nnlife_text(source: Path = SMALLEST) -> str:
    """A published table rewritten in nnlife's layout (status, epochs_planned, ... columns), with
    the training accuracy and elapsed time that nnlife records (here: plausible values)."""
    import numpy as np

    import nnlife
    from nnlife.table import Lifespan, format_table

    life = nnlife.read_lifespan(source)
    curve = life.curve.copy()
    curve["train_acc"] = np.minimum(100.0, curve["val_acc"] * 1.1)
    curve["elapsed_s"] = np.arange(1, len(curve) + 1) * 2.5
    life = Lifespan(id=life.id, net=life.net, train=life.train, curve=curve, status=life.status, meta={})
    return format_table(life, layout="nnlife")
