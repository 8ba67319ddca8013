"""``nnlife generate --scheduler tcp://127.0.0.1:PORT`` against a separately started Dask cluster:
a ``dask scheduler`` and two ``dask worker --nthreads 1`` processes that the test starts (and
stops, also on failure). A worker killed with SIGKILL during a lifespan: the lifespan runs again
on the other worker and the batch completes. Fails (never skips) when the cluster does not start."""

import json
import os
import signal

import pytest

from engines import (
    VENV_BIN,
    attempts,
    free_port,
    generate,
    in_training,
    nnlife_cmd,
    start,
    stop,
    tables,
    wait_for,
)


@pytest.fixture
def dask_cluster(tmp_path):
    """(address, {worker address: pid}) of a scheduler and two single-threaded workers without a
    nanny (a killed worker stays dead, so its work must go to the other one)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler_file = tmp_path / "scheduler.json"
    procs = []
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # what a nanny would set
    try:
        procs.append(
            start(
                [
                    str(VENV_BIN / "dask"),
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                tmp_path / "scheduler.log",
                env=env,
            )
        )
        wait_for(lambda: scheduler_file.exists() or procs[0].poll() is not None, "the scheduler file")
        assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()[-3000:]
        assert json.loads(scheduler_file.read_text())["address"] == address
        for i in range(2):
            procs.append(
                start(
                    [
                        str(VENV_BIN / "dask"),
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--name",
                        f"w{i}",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    tmp_path / f"worker{i}.log",
                    env=env,
                )
            )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            pids = client.run(os.getpid)
        assert sorted(pids.values()) == sorted(p.pid for p in procs[1:])
        yield address, pids
    finally:
        stop(procs, grace=5)  # a worker whose peer was killed can hang in close; then SIGKILL


def test_a_killed_worker_has_its_lifespan_rerun_on_the_other(tmp_path, dask_cluster):
    from distributed import Client

    address, pids = dask_cluster
    out = tmp_path / "batch"
    n = 3
    args = [
        "--networks",
        n,
        "--seed",
        2,
        "--epochs",
        "2",
        "--train-size",
        "1500",
        "--val-size",
        "300",
        "--quiet",
        "--scheduler",
        address,
    ]
    batch = start(nnlife_cmd("generate", out, *args), tmp_path / "batch.log")
    try:
        with Client(address, timeout=60) as client:
            # a worker process in the middle of a lifespan (its log says "start", nothing after)
            def busy_worker():
                now = [(int(ev["pid"]), lid) for lid, ev in in_training(out).items()]
                return next(((pid, lid) for pid, lid in now if pid in pids.values()), None)

            victim_pid, interrupted = wait_for(
                busy_worker, "a worker training a lifespan", timeout=240, every=0.05
            )
            victim = next(a for a, p in pids.items() if p == victim_pid)
            os.kill(victim_pid, signal.SIGKILL)
            wait_for(lambda: len(client.scheduler_info()["workers"]) == 1, "the scheduler to drop the worker")
            survivor = next(iter(client.scheduler_info()["workers"]))
            assert survivor != victim and survivor in pids
            assert batch.wait(timeout=300) == 0, (tmp_path / "batch.log").read_text()[-4000:]
            assert list(client.scheduler_info()["workers"]) == [survivor]
    finally:
        stop([batch])
    assert len(tables(out)) == n
    events = [(e["event"], int(e["pid"])) for e in attempts(out)[interrupted]]
    assert events[0] == ("start", victim_pid) and ("finished", victim_pid) not in events
    assert events[-2:] == [("start", pids[survivor]), ("finished", pids[survivor])]  # rerun on the other
    again = generate(out, *args)
    assert f"{n} lifespans in {out}: 0 trained now, {n} complete" in again.stdout
