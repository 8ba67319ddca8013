"""oneDNN's 1x1 strided backward-weights bug (docs/known-issues.md, bench/onednn_1x1_stride_nhwc.py):
the sampled network that crashed nnlife's loop with two torch threads now trains to the end,
and one-thread training is left as it was.

The network is network 1 of ``plan_batch(seed=4)`` (the kill test's batch): its first layer is a
1x1 convolution with stride 2 on the 1-channel Fashion-MNIST images. Before the workaround, two
threads crashed it ("free(): invalid size", "corrupted size vs. prev_size", SIGSEGV) within
three 1-epoch runs on 300 images, in 5 of 5 tries.
"""

import json
import subprocess
import sys
import textwrap

import pytest

from nnlife.generate.plan import plan_batch
from nnlife.generate.train import strided_1x1_layers
from nnlife.spec import ConvLayer, NetSpec, TrainSpec

PLAN = dict(dataset="FashionMNIST", n_networks=2, seed=4, epochs=1, train_size=300, val_size=100)


def _crashing_network():
    job = plan_batch("unused", **PLAN)[1]
    return NetSpec.from_dict(job.net), TrainSpec.from_dict(job.train)


def _train_in_subprocess(threads: int, runs: int, memory_format: str) -> subprocess.CompletedProcess:
    script = textwrap.dedent(
        f"""
        import json, math, torch
        torch.set_num_threads({threads})
        import nnlife
        from nnlife.generate.plan import plan_batch
        from nnlife.spec import NetSpec, TrainSpec
        job = plan_batch("unused", **{PLAN!r})[1]
        net = NetSpec.from_dict(job.net)
        train = TrainSpec.from_dict(job.train).replace(memory_format={memory_format!r})
        data = nnlife.load_dataset("FashionMNIST", train_size=300, val_size=100, seed=0)
        for _ in range({runs}):
            life = nnlife.train_lifespan(net, train, data, device="cpu")
            curve = life.curve[["train_loss", "train_acc", "val_loss", "val_acc"]].to_numpy().tolist()
            print(json.dumps({{"status": life.status, "onednn": life.meta.get("onednn"),
                              "mkldnn_after": torch.backends.mkldnn.enabled, "curve": curve}}), flush=True)
        """
    )
    return subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", script], capture_output=True, text=True, timeout=600
    )


def test_the_crashing_network_is_the_one_the_rule_names():
    net, train = _crashing_network()
    assert net.conv[0].kernel == 1 and net.conv[0].stride == 2 and net.input_shape[0] == 1
    assert strided_1x1_layers(net, train) == (1,)
    assert strided_1x1_layers(net, train.replace(memory_format="contiguous")) == (1,)  # 1 channel


@pytest.mark.parametrize("memory_format", ["channels_last", "contiguous"])
def test_two_threads_train_the_previously_crashing_network(memory_format):
    done = _train_in_subprocess(threads=2, runs=4, memory_format=memory_format)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(runs) == 4
    for run in runs:
        assert run["status"] == "complete" and run["onednn"] == "off" and run["mkldnn_after"] is True
        assert all(all(v == v and abs(v) != float("inf") for v in row) for row in run["curve"])
    assert all(run["curve"] == runs[0]["curve"] for run in runs)  # repeatable with two threads too


def test_one_thread_keeps_onednn_and_repeats_bit_for_bit():
    done = _train_in_subprocess(threads=1, runs=2, memory_format="channels_last")
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["onednn"] is None  # the workaround does not touch one-thread runs
    assert first["curve"] == second["curve"]
    assert all(all(v == v and abs(v) != float("inf") for v in row) for row in first["curve"])


def _net(*conv, channels=1):
    return NetSpec(input_shape=(channels, 28, 28), conv=conv, fc=(10,))


@pytest.mark.parametrize(
    "layer, channels, fmt, named",
    [
        (ConvLayer(8, 1, 2), 1, "channels_last", True),
        (ConvLayer(8, 1, 2), 1, "contiguous", True),  # a 1-channel input has channel stride 1
        (ConvLayer(8, 1, 2), 3, "contiguous", False),  # NCHW: oneDNN's blocked path
        (ConvLayer(8, 1, 2), 3, "channels_last", True),
        (ConvLayer(8, 1, 4), 15, "channels_last", True),
        (ConvLayer(8, 1, 2), 16, "channels_last", False),  # ic fills oneDNN's 16-channel block
        (ConvLayer(8, 1, 1), 1, "channels_last", False),  # stride 1: no strided copy
        (ConvLayer(8, 3, 2), 1, "channels_last", False),  # not a 1x1 kernel
        (ConvLayer(8, 1, 2, padding=1), 1, "channels_last", False),  # padded: not reduced
        (ConvLayer(8, 1, 3), 1, "channels_last", False),  # 28 is not a multiple of 3
    ],
)
def test_which_layers_the_rule_names(layer, channels, fmt, named):
    train = TrainSpec("FashionMNIST", 64, 0.01, memory_format=fmt)
    assert strided_1x1_layers(_net(layer, channels=channels), train) == ((1,) if named else ())


def test_a_deeper_layer_is_named_by_its_own_input():
    first = ConvLayer(4, 3, 1, padding=1)  # 28x28x4 out
    train = TrainSpec("FashionMNIST", 64, 0.01, memory_format="channels_last")
    assert strided_1x1_layers(_net(first, ConvLayer(8, 1, 2)), train) == (2,)
    assert (
        strided_1x1_layers(_net(first, ConvLayer(8, 1, 2)), train.replace(memory_format="contiguous")) == ()
    )
