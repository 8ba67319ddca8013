"""Every public name and documented module path resolves, without loading what it does not need."""

import subprocess
import sys

import pytest

import nnlife

# Documented short paths (README, the layout issue, code written against the flat layout) and a
# few names each must hold: nnlife.<path>.<name>.
SHORT_PATHS = {
    "curves": (
        "fit_curve",
        "fit_curves",
        "FAMILIES",
        "DOMHAN",
        "LCDB",
        "PENGUIN",
        "FIT_COLUMNS",
        "X_PER_EPOCH",
        "fit_arrays",
        "get_family",
        "synthetic_curves",
    ),
    "predict": ("penguin_predict", "ensemble_predict", "prediction_benchmark", "summarize_predictions"),
    "shapes": ("classify_shape", "classify_shapes", "LABELS", "MAJORITY", "THRESHOLDS"),
    "batch": (
        "generate_batch",
        "plan_batch",
        "job_script",
        "jobqueue_cluster",
        "MANIFEST",
        "add_cli",
        "batch_dir",
        "plot_batch",
    ),
    "data": (
        "load_dataset",
        "Dataset",
        "DATASETS",
        "DataFile",
        "stratified_subset",
        "ENV_VAR",
        "SYSTEM_LOCATIONS",
        "REPO_ROOT",
        "locate_dataset",
        "canonical_name",
        "main",
    ),
    "readers": ("parse_idx", "parse_cifar_pickle", "parse_svhn_mat", "decompress", "DatasetFormatError"),
    "train": ("train_lifespan", "interval_bounds", "resolve_device", "derive_seed"),
    "structure": ("structure_features", "correlations", "extremes", "label"),
    "plots": (
        "plot_curves_by_dataset",
        "plot_family_wins",
        "plot_network",
        "explorer",
        "spread_ids",
        "best_families",
        "replays",
        "plot_replay",
    ),
    "families": ("FAMILIES", "get_family"),
    "fitting": ("fit_curve", "fit_curves"),
    "checkpoint": ("save_checkpoint", "load_checkpoint"),
}
# Where each piece lives now (the paths the docs name), module -> names.
HOMES = {
    "nnlife.datasets": ("DATASETS", "canonical_name", "holdout_size", "split_sizes", "N_CLASSES"),
    "nnlife.atomic": ("atomic_write",),
    "nnlife.spec": ("NetSpec", "TrainSpec", "net_id", "DATASET_SHAPES", "canonical_dataset"),
    "nnlife.space": ("SearchSpace", "PAPER", "SMALL", "SPACES", "get_space"),
    "nnlife.generate.sampling": ("sample",),
    "nnlife.generate.network": ("build",),
    "nnlife.generate.data": ("load_dataset", "ensure_dataset"),
    "nnlife.generate.locate": ("locate_dataset",),
    "nnlife.generate.cluster": ("job_script", "jobqueue_cluster", "jobqueue_options"),
    "nnlife.generate.batch": ("generate_batch",),
    "nnlife.generate.reproduce": ("reproduce", "Comparison"),
    "nnlife.analyse.catalog": ("catalog", "load_catalog", "Catalog"),
    "nnlife.analyse.long": ("as_long", "pivot_curves", "ID"),
    "nnlife.analyse.lifecycle": ("lifecycle", "lifecycle_features"),
    "nnlife.analyse.fitting": ("fit_curve", "fit_curves", "best_families"),
    "nnlife.analyse.synthetic": ("synthetic_curves",),
    "nnlife.analyse.correlations": ("correlations", "correlation_matrix", "bh_adjust"),
    "nnlife.report.runner": ("render_reports", "notebook_dir"),
    "nnlife.report.notebook": ("open_analysis",),
    "nnlife.report.lifespan": ("plot_replay", "plot_batch", "plot_network"),
    "nnlife.cli": ("main", "COMMANDS"),
}
SPELLINGS = ("Fashion-MNIST", "fashion-mnist", " FashionMNIST ", "fashion_mnist", "FASHIONMNIST")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_every_public_name_resolves_from_the_module_that_defines_it():
    for name, module in nnlife._PUBLIC.items():
        value = getattr(nnlife, name)
        assert value is getattr(__import__(f"nnlife.{module}", fromlist=[name]), name), name
    assert set(nnlife.__all__) == set(nnlife._PUBLIC) | {"__version__"}


@pytest.mark.parametrize("path", sorted(SHORT_PATHS))
def test_short_paths_of_the_flat_layout_resolve(path):
    module = __import__(f"nnlife.{path}", fromlist=["_"])
    assert getattr(nnlife, path) is module
    for name in SHORT_PATHS[path]:
        assert getattr(module, name) is not None, f"nnlife.{path}.{name}"
    assert module.__doc__  # the docstring of the module that holds the names


def test_documented_homes_hold_their_names():
    for module, names in HOMES.items():
        mod = __import__(module, fromlist=list(names))
        for name in names:
            assert hasattr(mod, name), f"{module}.{name}"


def test_public_functions_are_not_hidden_by_modules_of_their_name():
    # the flat layout had modules named build, catalog, lifecycle, reproduce; none is left
    code = (
        "import nnlife, importlib.util\n"
        "for n in ('build', 'catalog', 'lifecycle', 'reproduce'):\n"
        "    assert importlib.util.find_spec('nnlife.' + n) is None, n\n"
        "    assert callable(getattr(nnlife, n)) and getattr(nnlife, n).__name__ == n\n"
    )
    _run(code)


def test_analysis_short_paths_load_neither_torch_nor_generation_code():
    code = (
        "import sys\n"
        "import nnlife.curves, nnlife.shapes, nnlife.predict, nnlife.structure\n"
        "nnlife.curves.fit_curve, nnlife.shapes.classify_shape, nnlife.predict.penguin_predict\n"
        "nnlife.catalog, nnlife.load_catalog, nnlife.read_lifespan\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'nnlife.generate'))]\n"
        "assert not bad, bad\n"
    )
    _run(code)


def test_monkeypatching_a_short_path_patches_the_module_that_holds_the_name(monkeypatch):
    import nnlife.analyse.predict as real
    import nnlife.predict as short

    original = real._penguin_fit
    monkeypatch.setattr(short, "_penguin_fit", "patched")
    assert real._penguin_fit == "patched" and short._penguin_fit == "patched"
    monkeypatch.undo()
    assert real._penguin_fit is original and short._penguin_fit is original


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_one_name_matcher_for_every_entry_point(spelling):
    from nnlife.datasets import canonical_name
    from nnlife.errors import ParameterError, SpecError

    assert canonical_name(spelling) == "FashionMNIST"
    net, train = nnlife.sample("small", dataset=spelling, seed=1)
    assert train.dataset == "FashionMNIST" and net.input_shape == (1, 28, 28)
    assert nnlife.TrainSpec(dataset=spelling, batch_size=8, learning_rate=0.1).dataset == "FashionMNIST"
    assert nnlife.load_dataset(spelling, train_size=100, val_size=50).name == "FashionMNIST"
    assert nnlife.build(net, dataset=spelling) is not None
    with pytest.raises(ParameterError, match="known datasets"):
        canonical_name("MNIST")
    with pytest.raises(SpecError):
        nnlife.TrainSpec(dataset="MNIST", batch_size=8, learning_rate=0.1)


def test_the_command_line_takes_every_spelling(tmp_path):
    from nnlife.cli import main

    # --networks 0 is refused after the dataset is read: the error is about n_networks, not the name
    code = (
        "import sys\nfrom nnlife.cli import main\n"
        f"sys.exit(main(['generate', {str(tmp_path / 'b')!r}, '--dataset', 'fashion-mnist', '--networks', '0']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "n_networks" in out.stderr and "dataset" not in out.stderr, out.stderr
    assert main(["data", " fashion_mnist "]) == 0
    assert main(["data", "MNIST"]) == 2
