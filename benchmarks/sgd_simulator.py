"""Benchmark: cost of simulating n workers against one plain batched gradient over the same samples.

For n in {1, 8, 32, 128} workers on a ring (Metropolis weights), D-PSGD (AllReduce for n = 1)
trains multinomial logistic regression on the real MNIST test images (784 features, 10
classes) for ``--epochs`` epochs: the same total number of samples per step (``--batch`` split across
the workers) and the same number of steps. The floor is one plain batched gradient of a
single model over the same samples, in the same chunks, plus the two evaluations of the
training loss and accuracy (at the start and the end) that every simulated run records, so
the ratio measures the cost of simulating the workers and nothing else. The table gives
seconds per run, the ratio to the floor (target: <= 1.5 at n = 128: one matrix product for
the mixing, no Python loop over workers) and the peak memory traced by ``tracemalloc``
during one more run of the simulator, not timed (tracing slows every allocation, by about
30 ms a run here, which the floor would not pay). Every worker count is timed for each
``--dtypes`` entry: float64 (the chains' default) and float32
(``simulate(..., dtype=np.float32)``), the floor computed in the same dtype (features and model cast once, outside the timing) so the ratio compares
like with like; and, where the gossip product is sparse (16 workers or more), for each
``--gossip`` entry: ``blocked`` (the default of ``simulate`` and what the chains use: BLAS
products on row blocks of the ring) and ``csr`` (``simulate(..., gossip="csr")``: a plain
sparse product, equal to rounding). The machine may be busy: every row times the floor and the run alternately,
``--repeats`` times each, and compares the fastest of each (the least disturbed). The
``cpu ratio`` column compares the fastest process CPU times instead of wall times: it leaves
out the time other processes take the core, though not their use of the shared cache and
memory bus, which a simulator moving megabytes per step feels more than the floor does;
the header gives the load average at the start and the end.

Usage::

    python benchmarks/sgd_simulator.py            # table
    python benchmarks/sgd_simulator.py --json     # one JSON object on stdout
    python benchmarks/sgd_simulator.py --threads 2   # BLAS threads (default 1: the steadiest timings)
    python benchmarks/sgd_simulator.py --dtypes float64 --gossip blocked   # the chains' settings only

BLAS runs single-threaded by default: with two threads on a machine that is doing anything
else, one stalled thread makes single timings erratic by factors of ten, for the floor and the
simulator alike.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import tracemalloc



def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--workers", default="1,8,32,128", help="comma-separated worker counts")
    p.add_argument("--batch", type=int, default=1024, help="samples per step, all workers together")
    p.add_argument("--epochs", type=int, default=5, help="epochs per run (the loss is evaluated at the start and end only)")
    p.add_argument("--repeats", type=int, default=5, help="repeats per row (the fastest is reported)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtypes", default="float64,float32", help="comma-separated state dtypes (float64, float32)")
    p.add_argument("--gossip", default="blocked,csr", help="comma-separated gossip products (csr, blocked)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (set before numpy is used)")
    return p.parse_args(argv)


np = None  # imported in main(), after the BLAS thread count is set


def _floor(model, x, features, labels, batch, n_steps, rng):
    """One model, the same samples per step, no simulator: the cost of the gradients alone,
    plus the loss and accuracy on the whole training set at the start and the end. The dtype
    is that of ``x`` and ``features`` (both already cast)."""
    X = x[None, :]
    t0, c0 = time.perf_counter(), time.process_time()
    model.per_sample_loss(X, features, labels), model.predict(X, features)
    for _ in range(n_steps):
        idx = rng.integers(0, features.shape[0], batch)
        _, g = model.loss_grad(X, features[idx], labels[idx])
        X = X - 0.1 * g
    model.per_sample_loss(X, features, labels), model.predict(X, features)
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> int:
    a = _args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    global np
    import numpy as np
    os.environ.setdefault("REPRO_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    from repro.errors import ReproError
    from repro import datasets
    from repro.sgd import algorithms, models, partition, topology

    try:
        images, labels = datasets.load_mnist()
    except ReproError as exc:
        print(f"error: {exc}")
        return 2
    features64 = images.reshape(len(images), -1).astype(np.float64)
    n_samples = features64.shape[0]
    n_steps = a.epochs * (n_samples // a.batch)
    model = models.LogisticRegression(features64.shape[1], 10)
    x0_64 = model.init(a.seed)
    rows = []
    try:
        dtypes = [algorithms.check_dtype(v.strip()) for v in a.dtypes.split(",")]
    except ValueError as exc:
        print(f"error: --dtypes: {exc}")
        return 2
    gossips = [v.strip() for v in a.gossip.split(",")]
    if not gossips or any(g not in algorithms.GOSSIP for g in gossips):
        print(f"error: --gossip must list some of {', '.join(algorithms.GOSSIP)}, got {a.gossip!r}")
        return 2
    cases = []
    for n in [int(v) for v in a.workers.split(",")]:
        for dt in dtypes:
            # the gossip product only exists, and is only sparse, from 16 workers on (see _mixer)
            for g in (gossips if n >= 16 else [gossips[0]]):
                cases.append((n, dt, g))
    load0 = list(os.getloadavg())
    for n, dt, gossip in cases:
        features, x0 = features64.astype(dt, copy=False), x0_64.astype(dt)
        if a.batch % n:
            print(f"error: --batch {a.batch} is not divisible by {n} workers")
            return 2
        shards = partition.partition_iid(n_samples, n, a.seed)
        if n == 1:
            algo, W = "allreduce", None
        else:
            algo, W = "dpsgd", topology.mixing_matrix(topology.ring(n))
        def sim(seed):
            algorithms.simulate(algo, model, features, labels, shards, n_steps=n_steps, batch_size=a.batch // n,
                                lr=0.1, seed=seed, W=W, x0=x0, eval_every=n_steps, keep_final=False, dtype=dt,
                                gossip=gossip)

        # peak memory from one extra run, untimed: tracemalloc slows every allocation (by a
        # quarter of a float32 run at 128 workers), and the floor is timed without it
        tracemalloc.start()
        sim(a.seed)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        floors, times, cfloors, ctimes = [], [], [], []
        for r in range(a.repeats):
            f_wall, f_cpu = _floor(model, x0, features, labels, a.batch, n_steps, np.random.default_rng(a.seed + r))
            floors.append(f_wall)
            cfloors.append(f_cpu)
            t0, c0 = time.perf_counter(), time.process_time()
            sim(a.seed + r)
            times.append(time.perf_counter() - t0)
            ctimes.append(time.process_time() - c0)
        t, f = min(times), min(floors)
        cpu_ratio = min(ctimes) / min(cfloors)
        rows.append({"n_workers": n, "dtype": dt.name, "gossip": gossip if n >= 16 else "-", "algorithm": algo,
                     "run_s": t, "floor_s": f, "ratio": t / f, "cpu_ratio": cpu_ratio, "peak_mib": peak / 2**20})
    info = {"machine": platform.machine(), "cpus": os.cpu_count(), "blas_threads": a.threads,
            "python": platform.python_version(), "load_average": [load0, list(os.getloadavg())],
            "numpy": np.__version__, "samples_per_run": n_steps * a.batch, "epochs": a.epochs, "steps": n_steps, "rows": rows}
    if a.json:
        print(json.dumps(info))
        return 0
    print(f"{a.epochs} epochs = {n_steps} steps x {a.batch} samples of MNIST (784 features), logistic regression; "
          f"{info['cpus']} CPUs ({a.threads} BLAS thread{'s' if a.threads > 1 else ''}), numpy {info['numpy']}")
    print(f"load average (1 min) {load0[0]:.2f} at the start, {info['load_average'][1][0]:.2f} at the end")
    print(f"{'workers':>7} {'dtype':>7} {'gossip':>7} {'algorithm':>10} {'s/run':>9} {'floor s':>9} {'ratio':>7} "
          f"{'cpu ratio':>9} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['n_workers']:>7} {r['dtype']:>7} {r['gossip']:>7} {r['algorithm']:>10} {r['run_s']:>9.3f} "
              f"{r['floor_s']:>9.3f} {r['ratio']:>7.2f} {r['cpu_ratio']:>9.2f} {r['peak_mib']:>9.1f}")
    big = [r for r in rows if r["n_workers"] == 128]
    verdict = ", ".join(f"{r['dtype']}/{r['gossip']} {'meets' if r['ratio'] <= 1.5 else 'misses'} it ({r['ratio']:.2f})"
                        for r in big)
    print("target: ratio <= 1.5 at 128 workers" + (f": {verdict}" if verdict else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
