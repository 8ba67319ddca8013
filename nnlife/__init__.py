"""nnlife: generate and analyse datasets of complete learning curves of random CNNs.

The package mirrors the data flow (see docs/architecture.md): a torch-free core at the top level
(``spec``, ``original``, ``table``, ``columns``, ``errors``, ``datasets``, ``space``, ``atomic``),
``generate/`` (needs torch), ``analyse/`` (never imports torch or ``generate``), ``report/``
(figures, notebooks) and ``cli/``.

``import nnlife`` is light and has no side effects: every public name below is loaded from its
module on first use, so torch is imported only when a generation function is first called.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types

__version__ = "0.1.0"

# public name -> module (under nnlife) that defines it (see docs/architecture.md, "Public surface")
_PUBLIC = {
    "NetSpec": "spec",
    "TrainSpec": "spec",
    "ConvLayer": "spec",
    "Pool": "spec",
    "Lifespan": "table",
    "read_lifespan": "table",
    "write_lifespan": "table",
    "SearchSpace": "space",
    "SPACES": "space",
    "sample": "generate.sampling",
    "build": "generate.network",
    "load_dataset": "generate.data",
    "Dataset": "generate.data",
    "train_lifespan": "generate.train",
    "generate_batch": "generate.batch",
    "reproduce": "generate.reproduce",
    "catalog": "analyse.catalog",
    "load_catalog": "analyse.catalog",
    "fit_curve": "analyse.fitting",
    "fit_curves": "analyse.fitting",
    "FAMILIES": "analyse.families",
    "classify_shape": "analyse.shapes",
    "classify_shapes": "analyse.shapes",
    "lifecycle": "analyse.lifecycle",
    "lifecycle_features": "analyse.lifecycle",
    "synthetic_curves": "analyse.synthetic",
    "penguin_predict": "analyse.predict",
    "ensemble_predict": "analyse.predict",
    "prediction_benchmark": "analyse.predict",
    "train_predictor": "analyse.learned",
    "load_predictor": "analyse.learned",
    "Predictor": "analyse.learned",
    "simulate_early_stopping": "analyse.early_stopping",
    "fetch_published": "fetch",
    "summarize_predictions": "analyse.predict",
    "NnlifeError": "errors",
    "SpecError": "errors",
    "TableError": "errors",
    "DatasetNotFoundError": "errors",
    "ChecksumError": "errors",
    "ParameterError": "errors",
    "DatasetFormatError": "errors",
    "FetchError": "errors",
    "DownloadChecksumError": "errors",
    "ArchiveError": "errors",
    "infer_space": "analyse.inferspace",
    "infer_spaces": "analyse.inferspace",
    "read_space": "space",
    "write_space": "space",
}

# Short module paths of the flat layout, kept so that documented code goes on working
# (``nnlife.curves.fit_curve``, ``from nnlife.batch import job_script``, ...): each resolves its
# names, on first use, from the modules that hold them now. Names of public functions (build,
# catalog, lifecycle, reproduce) are functions, not paths: import those from their modules.
_SHORT_PATHS = {
    "batch": (
        "generate.batch",
        "generate.plan",
        "generate.task",
        "generate.cluster",
        "generate.manifest",
        "report.lifespan",
        "cli.generate",
    ),
    "checkpoint": ("generate.checkpoint",),
    "curves": ("analyse.fitting", "analyse.families", "analyse.synthetic"),
    "data": ("generate.data", "generate.locate", "datasets", "cli.data"),
    "families": ("analyse.families",),
    "fitting": ("analyse.fitting",),
    "plots": (
        "report.style",
        "report.curves",
        "report.structure",
        "report.lifespan",
        "report.explorer",
        "report.prediction",
        "analyse.fitting",
        "analyse.structure",
        "analyse.correlations",
        "analyse.catalog",
    ),
    "predict": ("analyse.predict",),
    "readers": ("generate.readers",),
    "shapes": ("analyse.shapes",),
    "structure": ("analyse.structure", "analyse.correlations"),
    "train": ("generate.train", "generate.device"),
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str):
    if name in _SHORT_PATHS:
        return importlib.import_module(f"{__name__}.{name}")
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'nnlife' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__


class _ShortPath(types.ModuleType):
    """A short module path (``nnlife.curves``): its names come, lazily, from ``_SHORT_PATHS``'
    modules (and are kept once read, as the package keeps its public names); setting a name
    (e.g. monkeypatching) sets it in the module that holds it too."""

    def _modules(self):
        return [
            importlib.import_module(f"{__name__}.{m}") for m in _SHORT_PATHS[self.__name__.rsplit(".", 1)[1]]
        ]

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        for module in self._modules():
            if hasattr(module, name):
                value = getattr(module, name)
                super().__setattr__(name, value)
                return value
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name, value):
        if not name.startswith("__"):
            for module in self._modules():
                if hasattr(module, name):
                    setattr(module, name, value)
                    break
        super().__setattr__(name, value)

    def __dir__(self):
        return sorted({n for m in self._modules() for n in getattr(m, "__all__", dir(m))})

    @property
    def __doc__(self):
        return self._modules()[0].__doc__


class _ShortPathFinder:
    """Finds ``nnlife.<short path>`` for the import system (``import nnlife.curves``)."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        package, _, short = fullname.rpartition(".")
        if package != __name__ or short not in _SHORT_PATHS:
            return None
        return importlib.machinery.ModuleSpec(fullname, cls)

    @staticmethod
    def create_module(spec):
        return _ShortPath(spec.name)

    @staticmethod
    def exec_module(module):
        pass


# First, so that a short path wins over a stale file of the flat layout left in an old install.
if not any(getattr(f, "__name__", "") == "_ShortPathFinder" for f in sys.meta_path):
    sys.meta_path.insert(0, _ShortPathFinder)
