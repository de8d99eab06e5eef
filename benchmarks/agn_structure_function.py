"""Benchmark: structure function of evenly sampled light curves, O(n) per lag, against all pairs.

The multi-resolution simulations of the ``agn`` chain are measured with
:func:`repro.astro.agn.structure_function_even`, which for each lag ``k`` sums
``(x[t+k] - x[t])^2`` over the series (cost ``O(n)`` per lag and light curve). The estimator
of unevenly sampled survey light curves, :func:`repro.astro.agn.structure_function`, forms all
``n (n - 1) / 2`` pairs and bins their lags (cost ``O(n^2)``). Both are run on the same white
noise light curves (``--curves`` curves, Gaussian, variance 1, so SF = sqrt(2) at every lag) at
the same ``--lags`` log-spaced integer lags; the all-pairs estimator only up to
``--pairs-max-n`` samples (its memory grows as ``n^2``). The table gives the best of
``--repeat`` timings, the speed-up of the O(n) estimator over all pairs, the time per sample
and lag relative to the smallest ``n`` (1 = linear scaling) and the largest relative
difference between the two estimates.

Usage::

    python benchmarks/agn_structure_function.py            # n = 2^10 .. 2^18, seconds
    python benchmarks/agn_structure_function.py --small    # n = 2^10 .. 2^14
    python benchmarks/agn_structure_function.py --json     # one JSON object on stdout

Replaces the timed assertion (4 curves of 2^18 samples, 50 lags, under 5 s) that used to be a
unit test.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="quick run: n up to 2^14")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--sizes", default=None, help="comma-separated series lengths (default 2^10,2^12,...,2^18)")
    p.add_argument("--curves", type=int, default=4, help="light curves per size")
    p.add_argument("--lags", type=int, default=50, help="log-spaced lags from 1 to n/10 (rounded, unique)")
    p.add_argument("--pairs-max-n", type=int, default=4096, help="largest n measured with all pairs")
    p.add_argument("--repeat", type=int, default=3, help="timings per measurement (best is kept)")
    p.add_argument("--seed", type=int, default=10)
    return p.parse_args(argv)


def _best(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    a = _args(argv)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import numpy as np

    from repro.astro import agn

    sizes = ([int(s) for s in a.sizes.split(",")] if a.sizes
             else [2**k for k in range(10, 15 if a.small else 19, 2)])
    rng = np.random.default_rng(a.seed)
    rows = []
    for n in sizes:
        x = rng.standard_normal((a.curves, n))
        lags = np.unique(np.round(np.logspace(0, np.log10(max(n // 10, 2)), a.lags)))
        t_even, sf_even = _best(lambda: agn.structure_function_even(x, 1.0, lags, scale=1.0), a.repeat)
        row = {"n": n, "curves": a.curves, "lags": int(lags.size), "seconds_even": t_even,
               "ns_per_sample_lag": 1e9 * t_even / (a.curves * n * lags.size),
               "seconds_pairs": None, "speedup_vs_pairs": None, "max_rel_diff": None,
               "sf_mean": float(np.mean(sf_even))}
        if n <= a.pairs_max_n:
            # bins of width 1 about each integer lag (the gaps between them are extra bins)
            edges = np.unique(np.concatenate([lags - 0.5, lags + 0.5]))
            at = np.searchsorted(edges, lags - 0.5)

            def pairs():
                res = agn.structure_function_ensemble([(np.arange(n, dtype=float), c) for c in x], edges)
                return res["sf"][at]

            t_pairs, sf_pairs = _best(pairs, a.repeat)
            row.update(seconds_pairs=t_pairs, speedup_vs_pairs=t_pairs / t_even,
                       max_rel_diff=float(np.max(np.abs(sf_pairs / sf_even - 1))))
        rows.append(row)
    base = rows[0]["ns_per_sample_lag"]
    for r in rows:
        r["cost_ratio_to_smallest_n"] = r["ns_per_sample_lag"] / base
    out = {"benchmark": "agn_structure_function", "curves": a.curves, "lags_requested": a.lags,
           "repeat": a.repeat, "seed": a.seed,
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs",
           "numpy": np.__version__, "rows": rows}
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"structure function of {a.curves} evenly sampled white-noise light curves (SF = sqrt 2 = 1.414): "
          f"O(n) per lag against all pairs, best of {a.repeat}")
    hdr = (f"{'n':>8} {'lags':>5} {'s O(n)':>9} {'ns/(x*lag)':>10} {'vs small n':>10} "
           f"{'s pairs':>9} {'speed-up':>9} {'max |rel diff|':>14} {'mean SF':>8}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        pairs = (f"{r['seconds_pairs']:>9.4f} {r['speedup_vs_pairs']:>9.1f} {r['max_rel_diff']:>14.2e}"
                 if r["seconds_pairs"] is not None else f"{'-':>9} {'-':>9} {'-':>14}")
        print(f"{r['n']:>8} {r['lags']:>5} {r['seconds_even']:>9.4f} {r['ns_per_sample_lag']:>10.3f} "
              f"{r['cost_ratio_to_smallest_n']:>10.2f} {pairs} {r['sf_mean']:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
