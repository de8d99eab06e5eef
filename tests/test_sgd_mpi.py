"""The multi-process backend (repro.sgd.mpi): its pure parts, then 4 MPI processes on localhost.

Every run goes through ``mpirun`` under a hard timeout (``mpi.launch(..., timeout_s=...)`` or
``subprocess.run(..., timeout=...)``), so a hang fails the test instead of blocking CI.
Each test takes a few seconds (most of it is starting Python and reading MNIST four times).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from repro.sgd import asynchronous as A, mpi  # (the pure tests below need no mpi4py)


# ----------------------------------------------------------------------------- MPI, no processes
def test_mpi_config_checks_and_round_trips():
    from repro.sgd import launch
    cfg = mpi.Config(algo="d2", steps=7, lr=0.05, slow_rank=1, slow_sleep_s=0.5)
    args = launch.parser().parse_args(["--workers", "4"] + cfg.to_args())
    assert mpi.Config(**{k: getattr(args, k) for k in vars(cfg)}) == cfg
    with pytest.raises(mpi.MPIRunError, match="unknown algorithm"):
        mpi.Config(algo="hogwild").check()
    with pytest.raises(mpi.MPIRunError, match="at least 2 workers"):
        mpi.Config().check(1)
    with pytest.raises(mpi.MPIRunError, match="no single-process reference"):
        mpi.simulate_reference(mpi.Config(algo="adpsgd"), 4)


def test_mpirun_command_and_failure_messages():
    cmd = mpi.mpirun_command(mpi.Config(algo="dpsgd"), 4, hostfile="hosts.txt")
    assert cmd[1:3] == ["-n", "4"] and "--hostfile" in cmd and "--oversubscribe" in cmd
    assert cmd[cmd.index("--prefix") + 1] == sys.prefix
    assert "--prefix" not in mpi.mpirun_command(mpi.Config(), 4)
    assert ("--allow-run-as-root" in cmd) == (os.geteuid() == 0)
    assert cmd[cmd.index("-m") + 1] == "repro.sgd.launch"
    msg = mpi._explain("prterun noticed that process rank 2 with PID 3298 on node vm exited on\nsignal 9 (Killed).", 137)
    assert "rank 2" in msg and "signal 9" in msg
    assert mpi._explain("error: rank 0: no model at step 3 from rank(s) [1] within 2 s", 3).startswith("rank 0:")


processes = pytest.mark.usefixtures("_mpirun_available")  # real mpirun processes: need mpi4py and mpirun
N = 4
HARD = 90  # seconds: no multi-process test may take longer


@pytest.fixture(scope="module")
def _mpirun_available():
    pytest.importorskip("mpi4py")
    try:
        mpi.mpirun_path()
    except mpi.MPIRunError as exc:  # pragma: no cover - the wheel is a pinned dependency
        pytest.skip(str(exc))


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _check_trained(r, steps):
    assert r["n_workers"] == N and r["total_grads"] == steps * N
    assert r["final_loss"] < 0.25 * r["initial_loss"]
    assert r["relative_consensus"] < 0.1
    assert r["models"].shape[0] == N and np.all(np.isfinite(r["models"]))


@processes
def test_dpsgd_processes_train_reach_consensus_and_equal_the_simulator():
    cfg = mpi.Config(algo="dpsgd", steps=250, batch_size=16, lr=0.1, seed=3)
    r = mpi.launch(cfg, N, timeout_s=HARD)
    _check_trained(r, cfg.steps)
    ref = mpi.simulate_reference(cfg, N)
    np.testing.assert_allclose(r["models"], ref, rtol=0, atol=1e-10)
    # and the event-driven simulator takes the very same steps
    problem, model, shards, adj = mpi.build_problem(cfg, N)
    h = A.simulate("dpsgd", model, problem.train_features, problem.train_labels, shards, adjacency=adj,
                   epochs=cfg.steps * N * cfg.batch_size / problem.n_train, batch_size=cfg.batch_size, lr=cfg.lr,
                   seed=cfg.seed, compute=A.homogeneous(0.01), network=A.network_mod.Network(0, 1e9),
                   evals_per_epoch=0.5)
    assert h.grads[-1] == cfg.steps * N
    np.testing.assert_allclose(h.final_X, ref, rtol=0, atol=1e-12)


@processes
def test_adpsgd_processes_train_and_reach_consensus():
    r = mpi.launch(mpi.Config(algo="adpsgd", steps=250, batch_size=16, lr=0.1), N, timeout_s=HARD)
    _check_trained(r, 250)
    assert r["active_ranks"] == [0, 2]
    assert min(r["grads_per_rank"]) > 0


@processes
@pytest.mark.parametrize("algo", ["d2", "allreduce"])
def test_synchronous_processes_equal_the_simulator(algo):
    cfg = mpi.Config(algo=algo, steps=80, batch_size=16, lr=0.1, seed=1)
    r = mpi.launch(cfg, N, timeout_s=HARD)
    np.testing.assert_allclose(r["models"], mpi.simulate_reference(cfg, N), rtol=0, atol=1e-10)


@processes
def test_a_slow_process_holds_up_dpsgd_but_not_adpsgd():
    steps, sleep = 150, 0.03
    slow = dict(steps=steps, batch_size=16, slow_rank=1, slow_sleep_s=sleep)
    sync = mpi.launch(mpi.Config(algo="dpsgd", **slow), N, timeout_s=HARD)
    t0 = time.monotonic()
    asyn = mpi.launch(mpi.Config(algo="adpsgd", **slow), N, timeout_s=HARD)
    elapsed = time.monotonic() - t0
    # synchronous: every step waits for rank 1's sleep
    assert sync["wall_s"] >= steps * sleep
    # asynchronous: the same number of gradients in well under the slow rank's total sleep
    assert asyn["total_grads"] == steps * N
    assert asyn["wall_s"] < 0.5 * steps * sleep
    assert asyn["wall_s"] < 0.5 * sync["wall_s"]
    assert asyn["grads_per_rank"][1] < 0.5 * np.mean(asyn["grads_per_rank"])
    assert asyn["final_loss"] < 0.5 * asyn["initial_loss"]
    assert elapsed < HARD


@processes
def test_a_killed_process_stops_the_run_with_its_rank():
    t0 = time.monotonic()
    with pytest.raises(mpi.MPIRunError, match=r"rank 2 died .*signal 9"):
        mpi.launch(mpi.Config(algo="adpsgd", steps=400, kill_rank=2, kill_step=20), N, timeout_s=HARD)
    assert time.monotonic() - t0 < 45


@processes
def test_a_silent_process_is_named_after_the_timeout():
    t0 = time.monotonic()
    with pytest.raises(mpi.MPIRunError, match=r"from rank\(s\) \[1\] within 2 s"):
        mpi.launch(mpi.Config(algo="dpsgd", steps=50, slow_rank=1, slow_sleep_s=60.0, comm_timeout_s=2.0), N,
                   timeout_s=HARD)
    assert time.monotonic() - t0 < 30


@processes
def test_launch_hard_timeout_kills_the_job():
    t0 = time.monotonic()
    with pytest.raises(mpi.MPIRunError, match="did not finish within 3 s"):
        mpi.launch(mpi.Config(algo="dpsgd", steps=50, slow_rank=1, slow_sleep_s=60.0, comm_timeout_s=120.0), N,
                   timeout_s=3)
    assert time.monotonic() - t0 < 15


@processes
def test_command_line_starts_mpirun_and_reports_failures():
    cmd = [sys.executable, "-m", "repro.sgd.launch", "--algo", "adpsgd", "--workers", str(N), "--steps", "50", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=HARD, env=_env())
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["algorithm"] == "adpsgd" and r["total_grads"] == 50 * N
    cmd[cmd.index("adpsgd")] = "dpsgd"   # a synchronous run with a dying rank
    p = subprocess.run(cmd + ["--kill-rank", "3", "--kill-step", "5"], capture_output=True, text=True, timeout=HARD,
                       env=_env())
    assert p.returncode == 2
    assert "rank 3 died" in p.stderr


@processes
def test_runs_as_a_worker_under_mpirun():
    cmd = mpi.mpirun_command(mpi.Config(algo="d2", steps=30), 2)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=HARD, env=_env())
    assert p.returncode == 0, p.stdout + p.stderr
    assert "d2 on 2 processes: 60 gradients" in p.stdout
