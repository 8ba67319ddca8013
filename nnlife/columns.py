"""Column names, in one place (time is a column, never a name).

Two vocabularies:
- the *file* names of the published dataset's tables (``epochs``, ``trainLoss``, ...), and of the
  extra columns nnlife appends after the 28 original ones;
- the *curve* names used in ``Lifespan.curve`` and every analysis DataFrame (``epoch``,
  ``train_loss``, ...).
"""

from __future__ import annotations

# --- curve columns (Lifespan.curve, catalog long form) --------------------------------------------
EPOCH = "epoch"  # epochs trained when the row was recorded: 0.5, 1.0, ...
TRAIN_LOSS = "train_loss"  # mean CrossEntropyLoss over the interval's training batches
TRAIN_ACC = "train_acc"  # % correct over the interval's training images (nan in original tables)
VAL_LOSS = "val_loss"  # mean CrossEntropyLoss over the validation split
VAL_ACC = "val_acc"  # % correct over the validation split
ELAPSED_S = "elapsed_s"  # wall-clock seconds since training started (nan in original tables)

CURVE_COLUMNS = (EPOCH, TRAIN_LOSS, TRAIN_ACC, VAL_LOSS, VAL_ACC, ELAPSED_S)

# --- the published dataset's 28 columns, in file order --------------------------------------------
ORIGINAL_CURVE_COLUMNS = ("epochs", "trainLoss", "valLoss", "valAcc")
ORIGINAL_META_COLUMNS = (
    "ID",
    "random_seed",
    "train_GPU",
    "torch_set_deterministic",
    "dataset",
    "batch_size",
    "loss_fn",
    "optimizer",
    "learning_rate",
    "momentum",
    "dampening",
    "weight_decay",
    "layer_types",
    "dropout_rate",
    "convKernels",
    "convStrides",
    "convPaddings",
    "poolKernels",
    "poolStrides",
    "poolPaddings",
    "convFilters",
    "FC_dropout_rate",
    "FC_dropout_layers",
    "FCFilters",
)
ORIGINAL_COLUMNS = ORIGINAL_CURVE_COLUMNS + ORIGINAL_META_COLUMNS
assert len(ORIGINAL_COLUMNS) == 28

# file name -> curve name, for the curve columns a table may hold
FILE_TO_CURVE = {
    "epochs": EPOCH,
    "trainLoss": TRAIN_LOSS,
    "valLoss": VAL_LOSS,
    "valAcc": VAL_ACC,
    "trainAcc": TRAIN_ACC,
    "elapsed_s": ELAPSED_S,
}
CURVE_TO_FILE = {v: k for k, v in FILE_TO_CURVE.items()}

# --- lifespan status (a column of nnlife's tables, and Lifespan.status) ---------------------------
STATUS_COMPLETE = "complete"  # every planned row was recorded
STATUS_DIVERGED = "diverged"  # a non-finite training loss stopped training early
STATUSES = (STATUS_COMPLETE, STATUS_DIVERGED)
