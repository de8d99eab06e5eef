"""Benchmark: cost of simulating n workers against one plain batched gradient over the same samples.

For n in {1, 8, 32, 128} workers on a ring (Metropolis weights), D-PSGD (AllReduce for n = 1)
trains multinomial logistic regression on the real MNIST test images (784 features, 10
classes) for ``--epochs`` epochs: the same total number of samples per step (``--batch`` split across
the workers) and the same number of steps. The floor is one plain batched gradient of a
single model over the same samples, in the same chunks. The table gives seconds per run,
the ratio to the floor (target: <= 1.5 at n = 128: one matrix product for the mixing, no
Python loop over workers) and the peak memory traced by ``tracemalloc`` during the run.

Usage::

    python benchmarks/sgd_simulator.py            # table
    python benchmarks/sgd_simulator.py --json     # one JSON object on stdout
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import tracemalloc

import numpy as np


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--workers", default="1,8,32,128", help="comma-separated worker counts")
    p.add_argument("--batch", type=int, default=1024, help="samples per step, all workers together")
    p.add_argument("--epochs", type=int, default=5, help="epochs per run (the loss is evaluated at the start and end only)")
    p.add_argument("--repeats", type=int, default=3, help="repeats per row (the median is reported)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def _floor(model, x, features, labels, batch, n_steps, rng):
    """One model, the same samples per step, no simulator: the cost of the gradients alone."""
    X = x[None, :]
    t0 = time.perf_counter()
    for _ in range(n_steps):
        idx = rng.integers(0, features.shape[0], batch)
        _, g = model.loss_grad(X, features[idx], labels[idx])
        X = X - 0.1 * g
    return time.perf_counter() - t0


def main(argv=None) -> int:
    a = _args(argv)
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
    # the floor does the same work whatever n is: measure it once, carefully
    floor_runs = [_floor(model, x0, features, labels, a.batch, n_steps, np.random.default_rng(a.seed + r))
                  for r in range(3 * a.repeats)]
    f = float(np.median(floor_runs))
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
        times, peaks = [], []
        for r in range(a.repeats):
            tracemalloc.start()
            t0 = time.perf_counter()
            algorithms.simulate(algo, model, features, labels, shards, n_steps=n_steps, batch_size=a.batch // n,
                                lr=0.1, seed=a.seed + r, W=W, x0=x0, eval_every=n_steps, keep_final=False)
            times.append(time.perf_counter() - t0)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        t = float(np.median(times))
        rows.append({"n_workers": n, "algorithm": algo, "run_s": t, "floor_s": f, "ratio": t / f,
                     "peak_mib": max(peaks) / 2**20})
    info = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "samples_per_run": n_steps * a.batch, "epochs": a.epochs, "steps": n_steps, "rows": rows}
    if a.json:
        print(json.dumps(info))
        return 0
    print(f"{a.epochs} epochs = {n_steps} steps x {a.batch} samples of MNIST (784 features), logistic regression; "
          f"{info['cpus']} CPUs, numpy {info['numpy']}")
    print(f"{'workers':>7} {'algorithm':>10} {'s/run':>9} {'floor s':>9} {'ratio':>7} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['n_workers']:>7} {r['algorithm']:>10} {r['run_s']:>9.3f} {r['floor_s']:>9.3f} "
              f"{r['ratio']:>7.2f} {r['peak_mib']:>9.1f}")
    print("target: ratio <= 1.5 at 128 workers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
