"""Start worker processes without re-running the caller's main module.

Dask's local workers are started with multiprocessing's "spawn" method, which makes each new
process import the parent's ``__main__`` module again (as ``__mp_main__``) before it runs
anything. Two ways that goes wrong for a user of ``generate_batch``:

- a script read from standard input (``python - < script.py``) or run by an embedded
  interpreter has no file to import: the worker dies ("Nanny failed to start");
- a script without the ``if __name__ == "__main__":`` guard is run again in every worker, which
  calls ``generate_batch`` again while the worker is still starting (multiprocessing tracebacks).

nnlife's tasks need nothing from the main module (they run ``nnlife`` functions on plain data),
so ``main_hidden()`` hides it from the processes started meanwhile, as multiprocessing itself
does for an interactive session: while the block runs, ``__main__`` has no ``__file__`` and no
``__spec__``, so spawn has nothing to import. Both are put back when the block ends.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

_MISSING = object()


@contextmanager
def main_hidden():
    """Hide ``__main__``'s file and spec from processes spawned inside the block."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {name: main.__dict__.get(name, _MISSING) for name in ("__file__", "__spec__")}
    try:
        main.__dict__.pop("__file__", None)
        main.__dict__["__spec__"] = None
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                main.__dict__.pop(name, None)
            else:
                main.__dict__[name] = value


__all__ = ["main_hidden"]
