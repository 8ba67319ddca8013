"""Network and training specs: frozen, self-validating, with a canonical string and a stable id.

A ``NetSpec`` holds everything the published dataset's structure columns hold (and nothing
torch-specific); a ``TrainSpec`` holds everything needed to train it again. Both are plain Python,
shared by the generation side (``build``, ``train``) and the analysis side (``structure``).

The network a spec describes (this is nnlife's reading of the published columns; see
``nnlife.original`` for the column mapping and the ``layer_types`` bits):

    for each conv layer:  Conv2d(k, stride, padding) -> ReLU -> [MaxPool2d] -> [Dropout(conv rate)]
    flatten
    for each hidden FC:   Linear -> ReLU -> [Dropout(FC rate) if its flag is set]
    output:               Linear(n_classes)   (logits; CrossEntropyLoss applies the softmax)
"""

from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import asdict, dataclass, fields

from .datasets import DATASET_SHAPES, N_CLASSES, canonical_name
from .errors import SpecError
from .limits import check_params

# layer_types bits (see nnlife.original for the evidence from the published tables)
BIT_UNKNOWN = 1  # meaning unknown; kept raw, not used by build
BIT_POOL = 2  # a pooling layer follows this conv layer
BIT_DROPOUT = 4  # a dropout layer (conv dropout rate) follows this conv layer


# The registry's one name matcher, under the name spec users know; it raises UnknownDatasetError,
# a SpecError (and a ParameterError).
canonical_dataset = canonical_name


def net_id(canonical: str) -> str:
    """The short stable id of a network from its canonical string: 'n' + the first 10 hex digits
    of its SHA-1 (``NetSpec.id``)."""
    return "n" + hashlib.sha1(canonical.encode()).hexdigest()[:10]


# Field checks: a bool is not a number, a string is not a number or a bool ("no" is truthy), and
# NaN or inf is no value at all; numpy scalars are accepted and stored as Python numbers.
def _check_int(name: str, value, low: int) -> int:
    """``value`` as an int when it is an integer >= ``low`` (numpy integers too, not bools)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise SpecError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_real(name: str, value, what: str) -> float:
    """``value`` when it is a finite real number (not a bool); ``what`` describes the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise SpecError(f"{name} must be a finite number {what}, got {value!r}")
    return value


def _check_rate(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise SpecError(f"{name} must be a probability in [0, 1), got {value!r}")


def _check_flag(name: str, value) -> bool:
    """``value`` as a bool when it is a bool (numpy's too); 0, 1 and strings such as "no" are not."""
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    raise SpecError(f"{name} must be True or False, got {value!r}")


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a conv or pooling window along one axis (floor mode, no dilation)."""
    return (size + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class Pool:
    """Max pooling after a conv layer (square window)."""

    kernel: int  # window side, pixels
    stride: int  # step, pixels
    padding: int = 0  # implicit -inf padding per side, pixels; at most kernel // 2 (torch's rule)

    def __post_init__(self):
        for name, low in (("kernel", 1), ("stride", 1), ("padding", 0)):
            object.__setattr__(self, name, _check_int(f"pool {name}", getattr(self, name), low))
        if 2 * self.padding > self.kernel:
            raise SpecError(f"pool padding {self.padding} exceeds half the pool kernel {self.kernel}")


@dataclass(frozen=True)
class ConvLayer:
    """One conv layer and what follows it (square kernel, no dilation, no groups)."""

    filters: int  # output channels
    kernel: int  # kernel side, pixels
    stride: int = 1  # pixels
    padding: int = 0  # zero padding per side, pixels
    pool: Pool | None = None  # max pooling after the ReLU, or none
    dropout: bool = False  # Dropout(NetSpec.conv_dropout_rate) after the layer (and its pool)
    layer_type: int | None = None  # raw `layer_types` entry; None: 1 | 2*pool | 4*dropout

    def __post_init__(self):
        for name, low in (("filters", 1), ("kernel", 1), ("stride", 1), ("padding", 0)):
            object.__setattr__(self, name, _check_int(f"conv {name}", getattr(self, name), low))
        object.__setattr__(self, "dropout", _check_flag("conv layer dropout", self.dropout))
        if self.pool is not None and not isinstance(self.pool, Pool):
            raise SpecError(f"pool must be a Pool or None, got {self.pool!r}")
        if self.layer_type is None:  # derive it, so a spec equals itself read back from a table
            derived = BIT_UNKNOWN | (BIT_POOL if self.pool else 0) | (BIT_DROPOUT if self.dropout else 0)
            object.__setattr__(self, "layer_type", derived)
        else:
            _check_int("layer_types entry", self.layer_type, 0)
            if bool(self.layer_type & BIT_POOL) != (self.pool is not None):
                raise SpecError(
                    f"layer_types entry {self.layer_type} says pool="
                    f"{bool(self.layer_type & BIT_POOL)} but the layer has pool={self.pool}"
                )
            if bool(self.layer_type & BIT_DROPOUT) != self.dropout:
                raise SpecError(
                    f"layer_types entry {self.layer_type} says dropout="
                    f"{bool(self.layer_type & BIT_DROPOUT)} but the layer has dropout={self.dropout}"
                )

    @property
    def type_code(self) -> int:
        """The `layer_types` entry: the raw value read from a table, else 1 | 2*pool | 4*dropout."""
        return self.layer_type


@dataclass(frozen=True)
class NetSpec:
    """A CNN as the published dataset describes one: conv layers, then fully connected layers.

    Validates itself on construction: raises SpecError with the reason when the network cannot
    run at ``input_shape`` (e.g. the feature map collapses below 1x1 at some layer).
    """

    input_shape: tuple[int, int, int]  # (channels, height, width) of one image
    conv: tuple[ConvLayer, ...]  # conv layers in order (at least one)
    fc: tuple[int, ...]  # units of each FC layer; the last is the class count
    fc_dropout: tuple[bool, ...] = ()  # one flag per hidden FC layer (len(fc) - 1 entries)
    conv_dropout_rate: float = 0.0  # `dropout_rate`: p of every conv dropout layer
    fc_dropout_rate: float = 0.0  # `FC_dropout_rate`: p of every flagged hidden FC layer

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        object.__setattr__(self, "conv", tuple(self.conv))
        object.__setattr__(self, "fc", tuple(self.fc))
        object.__setattr__(
            self,
            "fc_dropout",
            tuple(_check_flag("fc_dropout flag", f) for f in self.fc_dropout)
            if self.fc_dropout
            else (False,) * max(len(self.fc) - 1, 0),
        )
        if len(self.input_shape) != 3:
            raise SpecError(f"input_shape must be (channels, height, width), got {self.input_shape!r}")
        for n, v in zip(("channels", "height", "width"), self.input_shape):
            _check_int(f"input {n}", v, 1)
        if not self.conv:
            raise SpecError("a NetSpec needs at least one conv layer")
        if not all(isinstance(c, ConvLayer) for c in self.conv):
            raise SpecError("conv must hold ConvLayer objects")
        if not self.fc:
            raise SpecError("a NetSpec needs at least one FC layer (the output layer)")
        object.__setattr__(
            self, "fc", tuple(_check_int(f"FC layer {i + 1} units", u, 1) for i, u in enumerate(self.fc))
        )
        if len(self.fc_dropout) != len(self.fc) - 1:
            raise SpecError(
                f"fc_dropout needs one flag per hidden FC layer ({len(self.fc) - 1}), "
                f"got {len(self.fc_dropout)}"
            )
        _check_rate("conv_dropout_rate", self.conv_dropout_rate)
        _check_rate("fc_dropout_rate", self.fc_dropout_rate)
        self.feature_shapes()  # raises SpecError when the feature map collapses
        check_params(self.n_params)  # SpecError for a network beyond nnlife.limits

    # --- shapes and counts ------------------------------------------------------------------------
    def layer_shapes(self) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
        """(C, H, W) right after each convolution and after its pooling, per conv layer: the one
        feature-map computation (raises SpecError where the map collapses below 1x1)."""
        c, h, w = self.input_shape
        shapes = []
        for i, layer in enumerate(self.conv, start=1):
            if h + 2 * layer.padding < layer.kernel or w + 2 * layer.padding < layer.kernel:
                raise SpecError(
                    f"conv layer {i}: kernel {layer.kernel} is larger than the padded "
                    f"input {h}x{w} + 2*{layer.padding}; the feature map collapses below 1x1"
                )
            h, w = (out_size(s, layer.kernel, layer.stride, layer.padding) for s in (h, w))
            conv_shape = (layer.filters, h, w)
            if layer.pool is not None:
                p = layer.pool
                if h + 2 * p.padding < p.kernel or w + 2 * p.padding < p.kernel:
                    raise SpecError(
                        f"conv layer {i}: pool kernel {p.kernel} is larger than the padded "
                        f"feature map {h}x{w} + 2*{p.padding}; it collapses below 1x1"
                    )
                h, w = (out_size(s, p.kernel, p.stride, p.padding) for s in (h, w))
            shapes.append((conv_shape, (layer.filters, h, w)))
        return shapes

    def feature_shapes(self) -> list[tuple[int, int, int]]:
        """(C, H, W) after each conv layer including its pooling; raises SpecError on collapse."""
        return [pooled for _, pooled in self.layer_shapes()]

    @property
    def flat_features(self) -> int:
        """Inputs of the first FC layer (C * H * W of the last feature map)."""
        c, h, w = self.feature_shapes()[-1]
        return c * h * w

    @property
    def n_classes(self) -> int:
        return self.fc[-1]

    @property
    def n_params(self) -> int:
        """Trainable parameters (weights and biases), as sum(p.numel()) of the built module."""
        total, cin = 0, self.input_shape[0]
        for layer in self.conv:
            total += layer.kernel * layer.kernel * cin * layer.filters + layer.filters
            cin = layer.filters
        fin = self.flat_features
        for units in self.fc:
            total += fin * units + units
            fin = units
        return total

    @property
    def flops_per_image(self) -> int:
        """Forward FLOPs for one image, counted as torch's FlopCounterMode counts them.

        2 x multiply-accumulates of every conv and linear layer; bias adds, ReLU, pooling and
        dropout are not counted (FlopCounterMode counts only the matmul/convolution ops).
        """
        total, cin = 0, self.input_shape[0]
        for ((_, h, w), _), layer in zip(self.layer_shapes(), self.conv):
            total += 2 * layer.kernel * layer.kernel * cin * layer.filters * h * w
            cin = layer.filters
        fin = self.flat_features
        for units in self.fc:
            total += 2 * fin * units
            fin = units
        return total

    def receptive_field(self) -> int:
        """Side, in input pixels, of the receptive field of one unit of the last feature map."""
        rf, jump = 1, 1
        for layer in self.conv:
            rf += (layer.kernel - 1) * jump
            jump *= layer.stride
            if layer.pool is not None:
                rf += (layer.pool.kernel - 1) * jump
                jump *= layer.pool.stride
        return rf

    # --- identity ---------------------------------------------------------------------------------
    def canonical(self) -> str:
        """A canonical string: equal specs give equal strings, different specs different ones.

        Example: ``in3x32x32|c301k24s12p4+mp1s1p0|c297k2s2p2+mp1s1p0|c345k2s1p2|fc100|cd0|fd0.45``
        (``+do`` marks conv dropout, ``t5`` a raw layer_types value that is not the derived one,
        ``*`` a hidden FC layer with dropout; rates in repr form).
        """
        parts = ["in" + "x".join(map(str, self.input_shape))]
        for layer in self.conv:
            s = f"c{layer.filters}k{layer.kernel}s{layer.stride}p{layer.padding}"
            if layer.pool is not None:
                s += f"+mp{layer.pool.kernel}s{layer.pool.stride}p{layer.pool.padding}"
            if layer.dropout:
                s += "+do"
            derived = ConvLayer(
                layer.filters, layer.kernel, layer.stride, layer.padding, layer.pool, layer.dropout
            ).type_code
            if layer.type_code != derived:
                s += f"t{layer.type_code}"
            parts.append(s)
        hidden = [f"{u}{'*' if d else ''}" for u, d in zip(self.fc[:-1], self.fc_dropout)]
        parts.append("fc" + "-".join(hidden + [str(self.fc[-1])]))
        parts.append(f"cd{float(self.conv_dropout_rate)!r}")
        parts.append(f"fd{float(self.fc_dropout_rate)!r}")
        return "|".join(parts)

    @property
    def id(self) -> str:
        """Short stable id: 'n' + the first 10 hex digits of SHA-1 of the canonical string."""
        return net_id(self.canonical())

    def to_dict(self) -> dict:
        """Plain JSON-able dict; ``NetSpec.from_dict(d)`` rebuilds an equal spec."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> NetSpec:
        conv = []
        for c in d["conv"]:
            c = dict(c)
            if c.get("pool") is not None:
                c["pool"] = Pool(**c["pool"])
            conv.append(ConvLayer(**c))
        return cls(
            input_shape=tuple(d["input_shape"]),
            conv=tuple(conv),
            fc=tuple(d["fc"]),
            fc_dropout=tuple(d.get("fc_dropout", ())),
            conv_dropout_rate=d.get("conv_dropout_rate", 0.0),
            fc_dropout_rate=d.get("fc_dropout_rate", 0.0),
        )

    def for_dataset(self, dataset: str) -> NetSpec:
        """Check that this spec fits ``dataset`` (input shape and class count); return self."""
        name = canonical_name(dataset)
        if self.input_shape != DATASET_SHAPES[name]:
            raise SpecError(
                f"this network expects input {self.input_shape}, but {name} images are "
                f"{DATASET_SHAPES[name]}; sample or build the spec for {name}"
            )
        if self.n_classes != N_CLASSES[name]:
            raise SpecError(
                f"the output layer has {self.n_classes} units, but {name} has "
                f"{N_CLASSES[name]} classes; the last FC layer must have {N_CLASSES[name]}"
            )
        return self


VAL_SOURCES = ("test", "train")  # official test split, or a held-out part of the training split
MEMORY_FORMATS = ("channels_last", "contiguous")  # conv tensor layouts nnlife trains in (issue 16)
DEFAULT_MEMORY_FORMAT = "channels_last"  # what new tables and batches train in (issue 16)
LEGACY_MEMORY_FORMAT = "contiguous"  # what nnlife tables without a memory_format column used
PRECISIONS = ("fp32",)  # nnlife trains in float32; the field records it for provenance


@dataclass(frozen=True)
class TrainSpec:
    """How a network is trained: everything a rerun needs besides the NetSpec and the data files."""

    dataset: str  # "CIFAR100", "FashionMNIST" or "SVHN"
    batch_size: int  # images per SGD step
    learning_rate: float  # SGD step size (constant unless lr_schedule says otherwise)
    momentum: float = 0.0  # SGD momentum
    dampening: float = 0.0  # SGD dampening of the momentum
    weight_decay: float = 0.0  # SGD L2 penalty
    loss_fn: str = "CrossEntropyLoss"  # the only loss the original used
    optimizer: str = "SGD"  # the only optimizer the original used
    epochs: float = 40  # passes over the training split
    eval_interval: float = 0.5  # epochs between records; must split an epoch evenly
    seed: int = 0  # `random_seed`: weights init, data order, dropout
    deterministic: bool = False  # `torch_set_deterministic`: torch.use_deterministic_algorithms
    device: str = "cpu"  # device trained on ("cpu", "cuda", ...); `train_GPU` = not cpu
    train_size: int | None = None  # training images used (None: the whole split)
    val_size: int | None = None  # validation images used (None: the whole split)
    subset_seed: int = 0  # seed of the stratified subsets (and of a train holdout)
    val_source: str = "test"  # "test": official test split; "train": held out of train
    drop_last_val: bool = False  # the original dropped the last partial validation batch
    lr_schedule: str = "constant"  # "constant" (the original) or "cosine"
    precision: str = "fp32"  # arithmetic of training
    memory_format: str = DEFAULT_MEMORY_FORMAT  # conv tensors NHWC, or NCHW ("contiguous"): sum order

    def __post_init__(self):
        object.__setattr__(self, "dataset", canonical_name(self.dataset))
        object.__setattr__(self, "batch_size", _check_int("batch_size", self.batch_size, 1))
        for name in ("learning_rate", "momentum", "dampening", "weight_decay"):
            if _check_real(name, getattr(self, name), ">= 0") < 0:
                raise SpecError(f"{name} must be a finite number >= 0, got {getattr(self, name)!r}")
        if self.learning_rate <= 0:
            raise SpecError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.loss_fn != "CrossEntropyLoss":
            raise SpecError(f"loss_fn {self.loss_fn!r} is not supported: use 'CrossEntropyLoss'")
        if self.optimizer != "SGD":
            raise SpecError(f"optimizer {self.optimizer!r} is not supported: use 'SGD'")
        if _check_real("epochs", self.epochs, "> 0") <= 0:
            raise SpecError(f"epochs must be > 0 (a finite number), got {self.epochs!r}")
        if not 0 < _check_real("eval_interval", self.eval_interval, "in (0, 1] epochs") <= 1:
            raise SpecError(f"eval_interval must be in (0, 1] epochs, got {self.eval_interval!r}")
        per_epoch = 1 / self.eval_interval
        if abs(per_epoch - round(per_epoch)) > 1e-9:
            raise SpecError(
                f"eval_interval {self.eval_interval} does not split an epoch evenly; "
                "use 1/k of an epoch, e.g. 0.5 or 0.25"
            )
        n_rows = self.epochs / self.eval_interval
        if abs(n_rows - round(n_rows)) > 1e-9:
            raise SpecError(
                f"epochs {self.epochs} is not a whole number of eval intervals "
                f"({self.eval_interval}); use a multiple of {self.eval_interval}"
            )
        object.__setattr__(self, "seed", _check_int("seed", self.seed, 0))
        object.__setattr__(self, "subset_seed", _check_int("subset_seed", self.subset_seed, 0))
        for name in ("train_size", "val_size"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _check_int(name, getattr(self, name), 1))
        for name in ("deterministic", "drop_last_val"):
            object.__setattr__(self, name, _check_flag(name, getattr(self, name)))
        if not isinstance(self.device, str) or not self.device.strip():
            raise SpecError(f"device must be a device name such as 'cpu' or 'cuda:0', got {self.device!r}")
        if self.val_source not in VAL_SOURCES:
            raise SpecError(f"val_source must be one of {VAL_SOURCES}, got {self.val_source!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise SpecError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.precision not in PRECISIONS:
            raise SpecError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.memory_format not in MEMORY_FORMATS:
            raise SpecError(f"memory_format must be one of {MEMORY_FORMATS}, got {self.memory_format!r}")

    @property
    def n_records(self) -> int:
        """Rows a complete lifespan has: epochs / eval_interval (80 for 40 epochs at 0.5)."""
        return round(self.epochs / self.eval_interval)

    @property
    def record_epochs(self) -> list[float]:
        """The epoch of each record: eval_interval, 2 * eval_interval, ..., epochs."""
        return [round((i + 1) * self.eval_interval, 9) for i in range(self.n_records)]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainSpec:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise SpecError(f"unknown TrainSpec fields {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)

    def replace(self, **changes) -> TrainSpec:
        d = self.to_dict()
        d.update(changes)
        return TrainSpec.from_dict(d)


__all__ = [
    "Pool",
    "ConvLayer",
    "NetSpec",
    "TrainSpec",
    "DATASET_SHAPES",
    "N_CLASSES",
    "canonical_dataset",
    "net_id",
    "out_size",
]
