"""nnlife: generate and analyse datasets of complete learning curves of random CNNs.

``import nnlife`` is light and has no side effects: every public name below is loaded from its
module on first use, so torch is imported only when a generation function is first called.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it (see DESIGN.md, "Public surface")
_PUBLIC = {
    "NetSpec": "spec", "TrainSpec": "spec", "ConvLayer": "spec", "Pool": "spec",
    "Lifespan": "table", "read_lifespan": "table", "write_lifespan": "table",
    "SearchSpace": "space", "SPACES": "space", "sample": "space",
    "build": "build",
    "load_dataset": "data", "Dataset": "data",
    "train_lifespan": "train",
    "generate_batch": "batch",
    "catalog": "catalog", "load_catalog": "catalog",
    "reproduce": "reproduce",
    "fit_curve": "curves", "fit_curves": "curves", "FAMILIES": "curves",
    "classify_shape": "shapes", "classify_shapes": "shapes",
    "lifecycle": "lifecycle", "lifecycle_features": "lifecycle", "synthetic_curves": "curves",
    "penguin_predict": "predict", "ensemble_predict": "predict",
    "prediction_benchmark": "predict", "summarize_predictions": "predict",
    "NnlifeError": "errors", "SpecError": "errors", "TableError": "errors",
    "DatasetNotFoundError": "errors", "ChecksumError": "errors", "ParameterError": "errors",
    "DatasetFormatError": "errors",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'nnlife' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__


# `import nnlife.build` sets the package attribute `build` to the submodule, which would hide the
# function nnlife.build(); keep the function for the public names that share a module's name.
import sys as _sys
import types as _types


class _Package(_types.ModuleType):
    def __setattr__(self, name, value):
        if isinstance(value, _types.ModuleType) and _PUBLIC.get(name) == name and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
