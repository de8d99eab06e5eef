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
during the run. The machine may be busy: every row times the floor and the run alternately,
``--repeats`` times each, and compares the fastest of each (the least disturbed).

Usage::

    python benchmarks/sgd_simulator.py            # table
    python benchmarks/sgd_simulator.py --json     # one JSON object on stdout
    python benchmarks/sgd_simulator.py --threads 2   # BLAS threads (default 1: the steadiest timings)

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
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (set before numpy is used)")
    return p.parse_args(argv)


np = None  # imported in main(), after the BLAS thread count is set


def _floor(model, x, features, labels, batch, n_steps, rng):
    """One model, the same samples per step, no simulator: the cost of the gradients alone,
    plus the loss and accuracy on the whole training set at the start and the end."""
    X = x[None, :]
    t0 = time.perf_counter()
    model.per_sample_loss(X, features, labels), model.predict(X, features)
    for _ in range(n_steps):
        idx = rng.integers(0, features.shape[0], batch)
        _, g = model.loss_grad(X, features[idx], labels[idx])
        X = X - 0.1 * g
    model.per_sample_loss(X, features, labels), model.predict(X, features)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    a = _args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    global np
    import numpy as np
    os.environ.setdefault("REPRO_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    from repro.errors import ReproError
    from repro.sgd import algorithms, datasets, models, partition, topology

    try:
        images, labels = datasets.load_mnist()
    except ReproError as exc:
        print(f"error: {exc}")
        return 2
    features = images.reshape(len(images), -1).astype(np.float64)
    n_samples = features.shape[0]
    n_steps = a.epochs * (n_samples // a.batch)
    model = models.LogisticRegression(features.shape[1], 10)
    x0 = model.init(a.seed)
    rows = []
    for n in [int(v) for v in a.workers.split(",")]:
        if a.batch % n:
            print(f"error: --batch {a.batch} is not divisible by {n} workers")
            return 2
        shards = partition.partition_iid(n_samples, n, a.seed)
        if n == 1:
            algo, W = "allreduce", None
        else:
            algo, W = "dpsgd", topology.mixing_matrix(topology.ring(n))
        floors, times, peaks = [], [], []
        for r in range(a.repeats):
            floors.append(_floor(model, x0, features, labels, a.batch, n_steps, np.random.default_rng(a.seed + r)))
            tracemalloc.start()
            t0 = time.perf_counter()
            algorithms.simulate(algo, model, features, labels, shards, n_steps=n_steps, batch_size=a.batch // n,
                                lr=0.1, seed=a.seed + r, W=W, x0=x0, eval_every=n_steps, keep_final=False)
            times.append(time.perf_counter() - t0)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        t, f = min(times), min(floors)
        rows.append({"n_workers": n, "algorithm": algo, "run_s": t, "floor_s": f, "ratio": t / f,
                     "peak_mib": max(peaks) / 2**20})
    info = {"machine": platform.machine(), "cpus": os.cpu_count(), "blas_threads": a.threads, "python": platform.python_version(),
            "numpy": np.__version__, "samples_per_run": n_steps * a.batch, "epochs": a.epochs, "steps": n_steps, "rows": rows}
    if a.json:
        print(json.dumps(info))
        return 0
    print(f"{a.epochs} epochs = {n_steps} steps x {a.batch} samples of MNIST (784 features), logistic regression; "
          f"{info['cpus']} CPUs ({a.threads} BLAS thread{'s' if a.threads > 1 else ''}), numpy {info['numpy']}")
    print(f"{'workers':>7} {'algorithm':>10} {'s/run':>9} {'floor s':>9} {'ratio':>7} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['n_workers']:>7} {r['algorithm']:>10} {r['run_s']:>9.3f} {r['floor_s']:>9.3f} "
              f"{r['ratio']:>7.2f} {r['peak_mib']:>9.1f}")
    print("target: ratio <= 1.5 at 128 workers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
