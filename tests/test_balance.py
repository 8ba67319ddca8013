"""Balanced batches: the estimated cost of a lifespan, largest-first order with Dask priorities,
and the workers' idle share at the tail of a run (``nnlife.generate.balance``)."""

import numpy as np
import pytest

import nnlife
from nnlife.errors import ParameterError
from nnlife.generate.balance import BACKWARD_FACTOR, largest_first, lifespan_cost, tail_idle


def _draw(i, epochs=2, dataset="FashionMNIST"):
    return nnlife.sample("small", dataset, seed=np.random.default_rng([0, i]), epochs=epochs)


def test_cost_is_flops_times_images_times_epochs():
    net, train = _draw(0)
    cost = lifespan_cost(net, train, n_train=5000, n_val=1000)
    per_epoch = BACKWARD_FACTOR * 5000 + 1000 / train.eval_interval  # 2 records -> 2 val passes
    assert cost == pytest.approx(net.flops_per_image * per_epoch * 2)
    # the dict forms of a LifespanJob give the same number; cost grows with epochs and images
    assert lifespan_cost(net.to_dict(), train.to_dict(), 5000, 1000) == cost
    assert lifespan_cost(net, train.replace(epochs=4), 5000, 1000) == pytest.approx(2 * cost)
    assert lifespan_cost(net, train, 10000, 1000) > cost


class _Job:  # what largest_first reads of a LifespanJob
    def __init__(self, i):
        net, train = _draw(i)
        self.id, self.net, self.train = f"job{i}", net.to_dict(), train.to_dict()


def test_largest_first_orders_by_cost_and_gives_higher_priority_to_larger():
    jobs = [_Job(i) for i in range(12)]
    ordered = largest_first(jobs, 4000, 1000)
    costs = [c for _, c, _ in ordered]
    priorities = [p for _, _, p in ordered]
    assert sorted(j.id for j, _, _ in ordered) == sorted(j.id for j in jobs)
    assert costs == sorted(costs, reverse=True) and len(set(costs)) > 5  # the FLOPs differ widely
    assert priorities == sorted(priorities, reverse=True) and priorities[-1] == 0
    # equal costs (the same network twice): the same priority, batch order kept
    twice = largest_first([jobs[3], jobs[3]], 4000, 1000)
    assert twice[0][2] == twice[1][2] and twice[0][0] is jobs[3]


def test_tail_idle_of_hand_timed_runs():
    # two workers from t=0: A trains 0-6 and 6-10, B trains 0-4 and idles 4-10
    t = tail_idle([("A", 0, 6), ("B", 0, 4), ("A", 6, 10)])
    assert (t.workers, t.span_s, t.busy_s, t.tail_idle_s) == (2, 10, 14, 6)
    assert t.tail_idle_share == pytest.approx(6 / 20) and t.idle_share == pytest.approx(6 / 20)
    # ending together: no tail; a gap between tasks is idle but not tail
    t = tail_idle([("A", 0, 5), ("B", 0, 2), ("B", 3, 5)])
    assert t.tail_idle_share == 0 and t.idle_share == pytest.approx(1 / 10)
    assert tail_idle([]) is None


def test_a_batch_trains_largest_first_and_records_its_tail(tmp_path):
    """One single-threaded worker process takes the lifespans one at a time: in order of
    estimated cost. (A process, not an in-process thread cluster: torch training in Dask's
    worker threads of the test process has crashed the process here.)"""
    out = tmp_path / "b"
    frame, costs, run = _one_worker_batch(out)
    assert costs == sorted(costs, reverse=True) and len(set(costs)) == 5
    assert (frame["finished_at"] > frame["started_at"]).all() and frame["worker"].nunique() == 1
    assert run["workers_used"] == 1 and run["tail_idle_share"] == 0.0 and 0 <= run["idle_share"] < 1
    assert run["span_s"] >= (frame["finished_at"] - frame["started_at"]).sum() * 0.999


def _one_worker_batch(out, **options):
    """(frame, estimated costs in the order the lifespans started, the manifest's last run) of
    the 5-network test batch trained by one single-threaded worker process."""
    import json

    from distributed import Client, LocalCluster

    from nnlife import generate_batch

    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as lc,
        Client(lc) as client,
    ):
        frame = generate_batch(
            out,
            "FashionMNIST",
            5,
            seed=4,
            epochs=1,
            train_size=600,
            val_size=200,
            scheduler=client,
            progress=False,
            **options,
        )
    jobs = {j.id: j for j in _plan(out)}
    started = frame.sort_values("started_at")["id"].tolist()
    costs = [lifespan_cost(jobs[i].net, jobs[i].train, 600, 200) for i in started]
    return frame, costs, json.loads((out / "manifest.json").read_text())["runs"][-1]


def _plan(out):
    from nnlife.generate.plan import plan_batch

    return plan_batch(out, "FashionMNIST", 5, seed=4, epochs=1, train_size=600, val_size=200)


def test_cheapest_first_reverses_the_order_and_the_priorities(tmp_path):
    from nnlife.generate.balance import ordered

    jobs = _plan(tmp_path)
    big = ordered(jobs, 600, 200)
    cheap = ordered(jobs, 600, 200, "cheapest-first")
    assert [j.id for j, _, _ in cheap] == [j.id for j, _, _ in reversed(big)]
    costs = [c for _, c, _ in cheap]
    assert costs == sorted(costs)
    priorities = [p for _, _, p in cheap]  # Dask starts higher priorities first
    assert priorities == sorted(priorities, reverse=True) and priorities[0] > priorities[-1]
    with pytest.raises(ParameterError, match="order must be one of largest-first, cheapest-first"):
        ordered(jobs, 600, 200, "random")


def test_a_cheapest_first_batch_starts_its_cheapest_lifespan_first(tmp_path):
    from nnlife import generate_batch

    out = tmp_path / "b"
    _, costs, run = _one_worker_batch(out, order="cheapest-first")
    assert costs == sorted(costs)
    assert run["order"] == "cheapest-first"
    with pytest.raises(ParameterError, match="order must be one of"):
        generate_batch(
            out, "FashionMNIST", 5, seed=4, epochs=1, train_size=600, val_size=200, order="biggest"
        )
