"""``nnlife generate --scheduler slurm.yaml`` against a real one-node Slurm (scripts/start-slurm.sh;
``make test`` starts it first): worker jobs go through ``sbatch``, the tables match a LocalCluster
run of the same batch, and a worker job cancelled with ``scancel`` mid-batch loses nothing and
makes nobody train twice. These tests fail (never skip) when Slurm does not start here."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from engines import (
    TINY,
    VENV_BIN,
    attempts,
    curves,
    generate,
    in_training,
    nnlife_cmd,
    snapshot,
    start,
    stop,
    tables,
    wait_for,
)

STATE = Path(os.environ.get("NNLIFE_SLURM_DIR", "/var/tmp/nnlife-slurm"))
DAEMONS = {
    "munged": STATE / "munge" / "munged.pid",
    "slurmctld": STATE / "slurmctld.pid",
    "slurmd": STATE / "slurmd.pid",
}


def _running() -> bool:
    """Every daemon of start-slurm.sh runs (its pid file names a live process of that name)."""
    for name, pidfile in DAEMONS.items():
        try:
            pid = pidfile.read_text().strip()
            if Path(f"/proc/{pid}/comm").read_text().strip() != name:
                return False
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def slurm_env():
    """The environment for Slurm commands; starts the one-node Slurm when it is not running and
    stops it afterwards (then only: a Slurm that `make test` started stays up for the next run)."""
    started_here = not _running()
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "start-slurm.sh")],
        capture_output=True,
        text=True,
        env=dict(os.environ, NNLIFE_SLURM_DIR=str(STATE)),
    )
    if proc.returncode != 0:
        pytest.fail(
            "scripts/start-slurm.sh could not start Slurm here (as root it installs slurm-wlm "
            f"and munge and starts them):\n{proc.stderr[-3000:]}"
        )
    env = dict(os.environ, SLURM_CONF=str(STATE / "slurm.conf"))
    try:
        yield env
    finally:
        if started_here:
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "stop-slurm.sh")],
                capture_output=True,
                env=dict(os.environ, NNLIFE_SLURM_DIR=str(STATE)),
            )


@pytest.fixture
def slurm_yaml(tmp_path, slurm_env):
    """A slurm.yaml for two one-core worker jobs that run this venv's Python; the jobs carry a
    name of their own, and whatever of them is left at the end is cancelled."""
    name = f"nnlife-test-{uuid.uuid4().hex[:8]}"
    options = {
        "jobqueue": "slurm",
        "jobs": 2,
        "cores": 1,
        "memory": "2GB",
        "walltime": "00:20:00",
        "queue": "nnlife",
        "job_name": name,
        "python": str(VENV_BIN / "python"),
        "job_script_prologue": [f"source {VENV_BIN / 'activate'}"],
        "log_directory": str(tmp_path / "slurm-logs"),
        "local_directory": str(tmp_path / "dask-worker"),
        "scheduler_options": {"host": "127.0.0.1", "dashboard_address": None},
    }
    path = tmp_path / "slurm.yaml"
    path.write_text(yaml.safe_dump(options))
    try:
        yield path, name
    finally:
        subprocess.run(["scancel", "--name", name], env=slurm_env, capture_output=True)


def squeue(env, name: str) -> list[tuple[str, str]]:
    """(job id, state) of this test's jobs."""
    out = subprocess.run(
        ["squeue", "-h", "--name", name, "-o", "%i %T"], env=env, capture_output=True, text=True, check=True
    ).stdout
    return [tuple(line.split()) for line in out.splitlines() if line.strip()]


def test_a_batch_through_sbatch_jobs_matches_a_local_cluster(tmp_path, slurm_env, slurm_yaml):
    yaml_path, name = slurm_yaml
    args = ["--networks", 3, "--seed", 5, *TINY]
    generate(tmp_path / "slurm", *args, "--scheduler", yaml_path, env=slurm_env)
    generate(tmp_path / "local", *args, "--workers", 2, env=slurm_env)

    on_slurm, local = curves(tmp_path / "slurm"), curves(tmp_path / "local")
    assert len(on_slurm) == 3 and sorted(on_slurm) == sorted(local)
    for table_id, curve in on_slurm.items():
        assert len(curve) == 2
        assert curve.equals(local[table_id]), table_id  # every value, bit for bit

    # the workers were Slurm jobs: sbatch gave them job ids, their logs name the Dask worker
    logs = sorted((tmp_path / "slurm-logs").glob(f"{name}-*.err"))
    assert len(logs) == 2
    for log in logs:
        assert log.stem.rsplit("-", 1)[1].isdigit()
        assert "distributed.worker" in log.read_text()
    assert squeue(slurm_env, name) == []  # nnlife cancelled its jobs at the end


def test_a_cancelled_worker_job_then_a_rerun_completes_without_retraining(tmp_path, slurm_env, slurm_yaml):
    yaml_path, name = slurm_yaml
    out = tmp_path / "batch"
    n = 6
    args = [
        "--networks",
        n,
        "--seed",
        11,
        "--epochs",
        "2",
        "--train-size",
        "1000",
        "--val-size",
        "200",
        "--quiet",
        "--scheduler",
        yaml_path,
    ]
    batch = start(nnlife_cmd("generate", out, *args), tmp_path / "first-run.log", env=slurm_env)
    try:
        # both worker jobs up, a table or more written, and job J training lifespan L right now
        def job_mid_lifespan():
            running = [j for j, s in squeue(slurm_env, name) if s == "RUNNING"]
            if len(running) != 2 or not 1 <= len(tables(out)) <= n - 2:
                return None
            busy = [
                (ev["slurm_job"], lid) for lid, ev in in_training(out).items() if ev["slurm_job"] in running
            ]
            return busy[0] if busy else None

        victim, interrupted = wait_for(
            job_mid_lifespan, "a worker job in the middle of a lifespan", timeout=240, every=0.05
        )
        before = snapshot(out)
        subprocess.run(["scancel", victim], env=slurm_env, check=True)
        wait_for(lambda: victim not in [j for j, _ in squeue(slurm_env, name)], "the job to be cancelled")
        assert batch.wait(timeout=300) == 0, (tmp_path / "first-run.log").read_text()[-4000:]
    finally:
        stop([batch])

    after_first = snapshot(out)
    assert len(after_first) == n  # the other job trained the rest
    assert {k: after_first[k] for k in before} == before  # finished tables untouched
    assert interrupted + ".txt" not in before
    log = attempts(out)
    assert sorted(log) == sorted(p.stem for p in tables(out))
    # the interrupted lifespan: started in the cancelled job, never finished there, then
    # trained from the start and finished by the other job
    events = [(e["event"], e["slurm_job"]) for e in log[interrupted]]
    assert events[0] == ("start", victim) and ("finished", victim) not in events
    other = events[-1][1]
    assert other != victim and events[-2:] == [("start", other), ("finished", other)]
    # none trained twice: one "finished" per lifespan; every other start is one the cancel cut short
    for lid, evs in log.items():
        assert [e["event"] for e in evs].count("finished") == 1, (lid, evs)
        finished_at = [k for k, e in enumerate(evs) if e["event"] == "finished"][0]
        assert all(e["event"] != "start" for e in evs[finished_at:]), (lid, evs)
        cut = [e for e in evs[:finished_at] if e["event"] == "start"][:-1]
        assert all(e["slurm_job"] == victim for e in cut), (lid, evs)

    logs_before = {p.name: p.read_bytes() for p in (out / "logs").iterdir()}
    rerun = generate(out, *args, env=slurm_env)
    assert f"{n} lifespans in {out}: 0 trained now, {n} complete" in rerun.stdout
    assert snapshot(out) == after_first  # same inode, mtime, bytes
    assert {p.name: p.read_bytes() for p in (out / "logs").iterdir()} == logs_before  # no task ran
