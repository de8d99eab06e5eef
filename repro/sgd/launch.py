"""Run D-PSGD, D², AllReduce-SGD or AD-PSGD on real processes with MPI.

Examples::

    python -m repro.sgd.launch --algo adpsgd --workers 4 --steps 300
    python -m repro.sgd.launch --algo dpsgd --workers 8 --hostfile hosts.txt
    mpirun -n 4 python -m repro.sgd.launch --algo adpsgd --steps 300

Started by hand, it starts ``mpirun`` itself (found next to the running Python; on this
machine's ``localhost`` unless ``--host`` / ``--hostfile``, which are passed to ``mpirun``)
and prints a summary; started under ``mpirun`` it is one worker. ``--json`` prints rank 0's
result as one JSON object. See :mod:`repro.sgd.mpi`.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields

from ..errors import ReproError
from . import mpi


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m repro.sgd.launch", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=4, help="number of processes (default 4)")
    defaults = mpi.Config()
    helps = {
        "algo": f"algorithm: {', '.join(mpi.ALGORITHMS)}",
        "steps": "synchronous: rounds; adpsgd: gradients per worker on average (total = steps x workers)",
        "batch_size": "samples per worker per gradient", "lr": "constant step size",
        "seed": "seed of the data split, partition, initial model and minibatches",
        "n_samples": "MNIST test images used (a fifth is held out)",
        "graph": "communication graph: ring, bipartite (complete bipartite) or torus",
        "model": "logistic or mlp", "l2": "L2 penalty",
        "slow_rank": "fault injection: this rank sleeps --slow-sleep-s seconds per gradient",
        "slow_sleep_s": "seconds of injected sleep per gradient of --slow-rank",
        "kill_rank": "fault injection: this rank kills itself (SIGKILL) at step --kill-step",
        "kill_step": "step at which --kill-rank dies",
        "comm_timeout_s": "seconds a rank waits for a peer before it stops the job, naming the peer",
        "passive_bound": "adpsgd: most gradients a passive rank applies without being averaged (0: no bound)",
        "out": "rank 0 writes its result here (JSON; the models as .npz next to it)",
    }
    for f in fields(mpi.Config):
        kind = type(getattr(defaults, f.name))
        kw = {"choices": mpi.ALGORITHMS} if f.name == "algo" else {}
        p.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind, default=getattr(defaults, f.name),
                       help=helps.get(f.name, ""), **kw)
    p.add_argument("--host", default=None, help="passed to mpirun --host (e.g. node1:4,node2:4)")
    p.add_argument("--hostfile", default=None, help="passed to mpirun --hostfile")
    p.add_argument("--no-oversubscribe", action="store_true", help="do not pass --oversubscribe to mpirun")
    p.add_argument("--timeout", type=float, default=600.0, help="hard limit in seconds for the whole run")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return p


def _summary(r: dict) -> str:
    per = ", ".join(str(g) for g in r["grads_per_rank"])
    return (f"{r['algorithm']} on {r['n_workers']} processes: {r['total_grads']} gradients ({r['epochs']:.2f} epochs) "
            f"in {r['wall_s']:.2f} s ({r['time_per_epoch_s']:.3f} s/epoch); gradients per rank [{per}]; "
            f"loss {r['initial_loss']:.4f} -> {r['final_loss']:.4f}; consensus distance {r['consensus']:.3g} "
            f"(relative {r['relative_consensus']:.3g})")


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    cfg = mpi.Config(**{f.name: getattr(args, f.name) for f in fields(mpi.Config)})
    if mpi.under_mpi():
        result = mpi.run_worker(cfg)
        if result is not None:
            print(json.dumps(result) if args.json else _summary(result), flush=True)
        return 0
    try:
        result = mpi.launch(cfg, args.workers, timeout_s=args.timeout, hosts=args.host, hostfile=args.hostfile,
                            oversubscribe=not args.no_oversubscribe)
    except ReproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result.pop("models", None)
    result.pop("output", None)
    print(json.dumps(result) if args.json else _summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
