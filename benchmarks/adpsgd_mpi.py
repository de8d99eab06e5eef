"""Real wall-clock per epoch of synchronous and asynchronous decentralized SGD on MPI
processes, with one process slowed down by an injected sleep.

    python benchmarks/adpsgd_mpi.py                     # 4 processes, rank 1 sleeps 10 ms per gradient
    python benchmarks/adpsgd_mpi.py --workers 8 --sleep 0.02 --steps 400
    python benchmarks/adpsgd_mpi.py --json

Every algorithm runs the same number of gradients (``steps`` per process on average) on the
same problem; the table shows real seconds per epoch with all processes equal and with the
slowed one, and each synchronous algorithm's time over AD-PSGD's, measured in this one run.
Every run is started by ``mpirun`` under a hard timeout (repro.sgd.mpi.launch).
"""
from __future__ import annotations

import argparse
import json
import sys

from repro.sgd import mpi

ALGOS = ("allreduce", "dpsgd", "d2", "adpsgd")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--steps", type=int, default=300, help="gradients per process (on average for AD-PSGD)")
    p.add_argument("--sleep", type=float, default=0.01, help="seconds of injected sleep per gradient on the slow rank")
    p.add_argument("--slow-rank", type=int, default=1)
    p.add_argument("--n-samples", type=int, default=2000)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    a = p.parse_args(argv)
    rows = {}
    for algo in ALGOS:
        for slow in (False, True):
            cfg = mpi.Config(algo=algo, steps=a.steps, batch_size=16, lr=0.1, n_samples=a.n_samples,
                             slow_rank=a.slow_rank if slow else -1, slow_sleep_s=a.sleep if slow else 0.0)
            r = mpi.launch(cfg, a.workers, timeout_s=a.timeout)
            rows[(algo, slow)] = r
    out = {"workers": a.workers, "steps": a.steps, "sleep_s": a.sleep, "slow_rank": a.slow_rank, "algorithms": {}}
    for algo in ALGOS:
        eq, sl = rows[(algo, False)], rows[(algo, True)]
        out["algorithms"][algo] = {
            "s_per_epoch_equal": eq["time_per_epoch_s"], "s_per_epoch_slow": sl["time_per_epoch_s"],
            "ratio_to_adpsgd_equal": eq["time_per_epoch_s"] / rows[("adpsgd", False)]["time_per_epoch_s"],
            "ratio_to_adpsgd_slow": sl["time_per_epoch_s"] / rows[("adpsgd", True)]["time_per_epoch_s"],
            "final_loss_slow": sl["final_loss"], "grads_per_rank_slow": sl["grads_per_rank"]}
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"{a.workers} MPI processes, {a.steps} gradients per process, rank {a.slow_rank} sleeps {a.sleep:g} s "
          f"per gradient in the 'slow' columns")
    print(f"{'algorithm':<10} {'s/epoch equal':>14} {'s/epoch slow':>13} {'x AD-PSGD equal':>16} "
          f"{'x AD-PSGD slow':>15} {'loss (slow)':>12}  gradients per rank (slow)")
    for algo, v in out["algorithms"].items():
        print(f"{algo:<10} {v['s_per_epoch_equal']:>14.4f} {v['s_per_epoch_slow']:>13.4f} "
              f"{v['ratio_to_adpsgd_equal']:>16.2f} {v['ratio_to_adpsgd_slow']:>15.2f} {v['final_loss_slow']:>12.4f}  "
              f"{v['grads_per_rank_slow']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
