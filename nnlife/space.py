"""Search spaces as data, and the sampler that reads them.

``PAPER`` follows the parameter families of the published dataset of 6000 random CNNs; its ranges
cover the three published samples (tests/fixtures/original-format):

==================  =========================  ==================================================
parameter           PAPER                      why
==================  =========================  ==================================================
conv layers         2 to 5                     "several" per CIFAR-100 net; all samples have 3
filters             1 to 400                   samples: 63 to 384
conv kernel         1 to 32                    samples: 1 to 32 (32 = the whole CIFAR image)
conv stride         1 to 20                    samples: 1 to 20
conv padding        0 to 5                     samples: 1 to 5
pooling             p = 0.5 per layer          samples: 4 of 9 layers pool
pool kernel         1 to 10                    samples: 1, 5, 10
pool stride         1 to 10                    samples: 1 to 4
pool padding        0 to kernel // 2           torch's limit; samples: 0, 1, 4
conv dropout        rate 0 (p = 1/3) or        samples: 0, 0.40, 0.46; layers with dropout
                    U(0.05, 0.5); p = 0.5/layer
FC layers           1 to 3 (incl. output)      samples: 1, 2, 3
hidden FC units     10 to 400                  samples: 145 to 358
FC dropout          rate 0 (p = 1/3) or        samples: 0, 0.43, 0.46
                    U(0.05, 0.5); p = 0.5/layer
batch size          16 to 256                  samples: 25, 152, 186
learning rate       log-uniform 1e-3 to 1      samples: 0.010 to 0.78
momentum            0 (p = 1/2) or             samples: 0, 0, 4.9e-5 (often exactly 0)
                    log-uniform 1e-5 to 0.99
dampening           0 (p = 3/4) or U(0, 0.5)   samples: all 0
weight decay        0 (p = 1/3) or             samples: 0, 5.5e-4, 0.016
                    log-uniform 1e-5 to 0.05
==================  =========================  ==================================================

``SMALL`` holds networks for which a 40-epoch lifespan on a few thousand Fashion-MNIST images
takes minutes on a 2-core CPU: 1 to 3 conv layers of 4 to 32 filters with small kernels, pooling
by 2, 1 or 2 FC layers of up to 128 units, and training settings that usually learn.

Beyond those ranges a space may say how values are spread (all optional; PAPER and SMALL use
none of them, so they sample exactly as before): ``scales`` makes a range uniform ("linear") or
log-uniform ("log") instead of its default (``DEFAULT_SCALES``: the learning rate, a non-zero
momentum and weight decay log-uniform, everything else uniform); ``conv_layers_weights`` and
``fc_layers_weights`` give the chance of each layer count; ``fc_dropout_zero_prob`` and
``fc_dropout_rate`` draw FC dropout apart from conv dropout (the published tables have FC
dropout in networks without conv dropout). ``nnlife.infer_space`` fits all of them to tables.

A space file (``write_space``/``read_space``, JSON) holds one space per dataset::

    {"format": "nnlife-space/1", "spaces": {"CIFAR100": {"name": ..., "conv_layers": [3, 3], ...}}}

The sampler that reads a space is ``nnlife.generate.sampling.sample`` (``nnlife.sample``); this
module is plain data, so the analysis side can hold and compare spaces without numpy or torch.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path

from .atomic import atomic_write
from .datasets import NAMES
from .errors import ParameterError

SCALES = ("linear", "log")
# ranges that may be drawn on either scale, and the scale each has unless a space says otherwise
RANGE_FIELDS = (
    "filters",
    "kernel",
    "stride",
    "padding",
    "pool_kernel",
    "pool_stride",
    "dropout_rate",
    "fc_dropout_rate",
    "fc_units",
    "batch_size",
    "learning_rate",
    "momentum",
    "dampening",
    "weight_decay",
)
DEFAULT_SCALES = {"learning_rate": "log", "momentum": "log", "weight_decay": "log"}
SPACE_FILE_FORMAT = "nnlife-space/1"


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of a random-CNN search space; integer ranges are inclusive (low, high)."""

    name: str
    conv_layers: tuple[int, int]  # number of conv layers
    filters: tuple[int, int]  # output channels per conv layer
    kernel: tuple[int, int]  # conv kernel side, pixels
    stride: tuple[int, int]  # conv stride, pixels
    padding: tuple[int, int]  # conv zero padding per side, pixels
    pool_prob: float  # chance that a conv layer is followed by max pooling
    pool_kernel: tuple[int, int]  # pool window side, pixels
    pool_stride: tuple[int, int]  # pool step, pixels
    dropout_zero_prob: float  # chance of no dropout (conv and FC; conv only with fc_dropout_zero_prob)
    dropout_rate: tuple[float, float]  # uniform range of a non-zero dropout rate
    dropout_layer_prob: float  # chance that a layer gets dropout when the rate is > 0
    fc_layers: tuple[int, int]  # FC layers including the output layer
    fc_units: tuple[int, int]  # units per hidden FC layer
    batch_size: tuple[int, int]  # images per SGD step
    learning_rate: tuple[float, float]  # log-uniform range of the SGD step size
    momentum_zero_prob: float  # chance of momentum exactly 0
    momentum: tuple[float, float]  # log-uniform range of a non-zero momentum
    dampening_zero_prob: float  # chance of dampening exactly 0
    dampening: tuple[float, float]  # uniform range of a non-zero dampening
    weight_decay_zero_prob: float  # chance of weight decay exactly 0
    weight_decay: tuple[float, float]  # log-uniform range of a non-zero weight decay
    # --- optional: how values are spread (defaults: as PAPER and SMALL always sampled) ---
    conv_layers_weights: tuple[float, ...] | None = None  # chance of each conv layer count, low to high
    fc_layers_weights: tuple[float, ...] | None = None  # chance of each FC layer count, low to high
    fc_dropout_zero_prob: float | None = None  # chance of no FC dropout, drawn apart; None: one draw
    fc_dropout_rate: tuple[float, float] | None = None  # range of a non-zero FC rate; None: dropout_rate
    scales: tuple[tuple[str, str], ...] = ()  # (range, "linear" or "log") overriding DEFAULT_SCALES

    def __post_init__(self):
        for name, bounds in (
            ("conv_layers_weights", self.conv_layers),
            ("fc_layers_weights", self.fc_layers),
        ):
            w = getattr(self, name)
            if w is None:
                continue
            w = tuple(float(x) for x in w)
            object.__setattr__(self, name, w)
            if len(w) != bounds[1] - bounds[0] + 1 or min(w) < 0 or not math.isclose(sum(w), 1, abs_tol=1e-6):
                raise ParameterError(
                    f"space {self.name!r}: {name} needs one chance >= 0 per layer count "
                    f"{bounds[0]}..{bounds[1]}, summing to 1; got {w}"
                )
        scales = tuple(sorted((str(k), str(v)) for k, v in dict(self.scales).items()))
        object.__setattr__(self, "scales", scales)
        for field, scale in scales:
            if field not in RANGE_FIELDS or scale not in SCALES:
                raise ParameterError(
                    f"space {self.name!r}: scale {field}={scale!r}: use one of "
                    f"{', '.join(SCALES)} for one of {', '.join(RANGE_FIELDS)}"
                )
        for field in RANGE_FIELDS:
            bounds = getattr(self, field)
            if bounds is not None and self.scale(field) == "log" and bounds[0] <= 0:
                raise ParameterError(
                    f"space {self.name!r}: a log scale for {field} needs a low end > 0, got {tuple(bounds)}"
                )

    def scale(self, field: str) -> str:
        """ "linear" (uniform) or "log" (log-uniform): how range ``field`` is drawn."""
        return dict(self.scales).get(field, DEFAULT_SCALES.get(field, "linear"))


PAPER = SearchSpace(
    name="paper",
    conv_layers=(2, 5),
    filters=(1, 400),
    kernel=(1, 32),
    stride=(1, 20),
    padding=(0, 5),
    pool_prob=0.5,
    pool_kernel=(1, 10),
    pool_stride=(1, 10),
    dropout_zero_prob=1 / 3,
    dropout_rate=(0.05, 0.5),
    dropout_layer_prob=0.5,
    fc_layers=(1, 3),
    fc_units=(10, 400),
    batch_size=(16, 256),
    learning_rate=(1e-3, 1.0),
    momentum_zero_prob=0.5,
    momentum=(1e-5, 0.99),
    dampening_zero_prob=0.75,
    dampening=(0.0, 0.5),
    weight_decay_zero_prob=1 / 3,
    weight_decay=(1e-5, 0.05),
)

SMALL = SearchSpace(
    name="small",
    conv_layers=(1, 3),
    filters=(4, 32),
    kernel=(1, 5),
    stride=(1, 2),
    padding=(0, 2),
    pool_prob=0.5,
    pool_kernel=(2, 3),
    pool_stride=(2, 2),
    dropout_zero_prob=0.5,
    dropout_rate=(0.05, 0.5),
    dropout_layer_prob=0.5,
    fc_layers=(1, 2),
    fc_units=(16, 128),
    batch_size=(32, 256),
    learning_rate=(3e-3, 0.3),
    momentum_zero_prob=0.3,
    momentum=(0.5, 0.95),
    dampening_zero_prob=1.0,
    dampening=(0.0, 0.0),
    weight_decay_zero_prob=0.5,
    weight_decay=(1e-5, 1e-3),
)

SPACES = {"paper": PAPER, "small": SMALL}


def get_space(space) -> SearchSpace:
    """A SearchSpace from itself or its name ("paper", "small"); ParameterError otherwise."""
    if isinstance(space, SearchSpace):
        return space
    found = SPACES.get(str(space).lower())
    if found is None:
        raise ParameterError(
            f"unknown search space {space!r}: use one of {', '.join(SPACES)} "
            "or pass a nnlife.space.SearchSpace"
        )
    return found


# --- space files ------------------------------------------------------------------------------------
def space_to_dict(space: SearchSpace) -> dict:
    """``space`` as JSON-ready data (tuples as lists, ``scales`` as a mapping)."""
    out = {}
    for f in fields(space):
        value = getattr(space, f.name)
        if f.name == "scales":
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def space_from_dict(data: dict, where: str = "space") -> SearchSpace:
    """The SearchSpace that ``space_to_dict`` wrote; ParameterError naming ``where`` otherwise."""
    if not isinstance(data, dict):
        raise ParameterError(f"{where}: a space must be a JSON object of SearchSpace fields")
    known = {f.name for f in fields(SearchSpace)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ParameterError(
            f"{where}: unknown field(s) {', '.join(unknown)}; a space has {', '.join(sorted(known))}"
        )
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
    if isinstance(values.get("scales"), dict):
        values["scales"] = tuple(values["scales"].items())
    try:
        return SearchSpace(**values)
    except TypeError as e:
        raise ParameterError(f"{where}: {e}") from None


def write_space(path, spaces, note: dict | None = None) -> Path:
    """Write ``spaces`` (one SearchSpace, or {dataset: SearchSpace}) as a space file (JSON).

    A single space is stored under its name. ``note``: free JSON-ready provenance (what it was
    inferred from). Written atomically; returns the path.
    """
    if isinstance(spaces, SearchSpace):
        spaces = {spaces.name: spaces}
    doc = {"format": SPACE_FILE_FORMAT, "spaces": {k: space_to_dict(v) for k, v in spaces.items()}}
    if note:
        doc["note"] = note
    text = json.dumps(doc, indent=1)
    # one range per line: [low, high] and the layer-count weights on the line of their field
    text = re.sub(
        r"\[\s+([^\[\]{}\"]*?)\s+\]",
        lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]",
        text,
    )
    return atomic_write(path, text + "\n")


def read_spaces(path) -> dict:
    """{dataset or name: SearchSpace} of a space file; ParameterError naming the file otherwise."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such space file") from None
    except ValueError as e:
        raise ParameterError(f"{path}: not a JSON space file ({e})") from None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != SPACE_FILE_FORMAT
        or not isinstance(doc.get("spaces"), dict)
    ):
        raise ParameterError(
            f'{path}: not a space file: expected {{"format": "{SPACE_FILE_FORMAT}", '
            '"spaces": {...}} (write one with nnlife.write_space)'
        )
    return {key: space_from_dict(value, f"{path}, space {key!r}") for key, value in doc["spaces"].items()}


def read_space(path, dataset: str | None = None) -> SearchSpace:
    """One space of a space file: the one for ``dataset`` (any spelling), or the only one.

    Raises ParameterError when the file holds several spaces and none is ``dataset``'s.
    """
    spaces = read_spaces(path)
    if dataset is not None:
        for key, space in spaces.items():
            if key.lower() == str(dataset).lower():
                return space
    # the only space, unless it is stored for another dataset
    if len(spaces) == 1 and (dataset is None or next(iter(spaces)).lower() not in {n.lower() for n in NAMES}):
        return next(iter(spaces.values()))
    want = f"no space for {dataset}" if dataset else "several spaces and no dataset chosen"
    raise ParameterError(f"{path}: {want}; it holds {', '.join(spaces)}")


__all__ = [
    "SearchSpace",
    "PAPER",
    "SMALL",
    "SPACES",
    "get_space",
    "DEFAULT_SCALES",
    "RANGE_FIELDS",
    "SCALES",
    "space_to_dict",
    "space_from_dict",
    "write_space",
    "read_spaces",
    "read_space",
]
