"""Benchmark: b-bit IHT products and iterations against float64, next to the machine's memory bandwidth.

The measurement operator is the real-stacked matrix ``[Re Phi; Im Phi]`` of a LOFAR core
station set (the real LBA antenna positions of the superterp stations CS002-CS007, local
east/north/up) at 60 MHz on a grid of directions above the horizon. Two problems:

- ``default``: about 10^4 x 10^4 (101 antennas -> 5050 baselines -> 10100 real rows; 115 x 115
  grid -> ~1.02e4 pixels above the horizon);
- ``large``: about 2e4 x 2e4 (142 antennas of the same stations -> 20022 rows; 161 x 161 grid),
  to show how the ratios scale once nothing fits in cache.

The sky holds ``s`` point sources of known positions; ``y = A x`` (noiseless). For each bit
width the matrix is quantized twice (independent stochastic rounding, one scale per row;
1, 2 and 4 bits packed ``8 / b`` codes per byte, other widths one byte per code; 32 = float32,
64 = float64) and the table gives, per product, the time and the bytes of Phi read per second
(GB/s), next to the stream bandwidth of the same run (a large float64 copy, counted as
read + write bytes, the STREAM convention); the speed-up of a matvec pair (``Phi x`` then
``Phi^T r``) and of one normalized-IHT iteration against float64; and whether the recovered
support equals the true one. The load average of the machine is printed before and after:
timings on a loaded machine are lower bounds of the speed.

Usage::

    python benchmarks/iht_lowprec.py                     # default and large problems
    python benchmarks/iht_lowprec.py --problems default  # only ~1e4 x 1e4
    python benchmarks/iht_lowprec.py --small             # ~1.6e3 x 1.6e3, seconds
    python benchmarks/iht_lowprec.py --json              # one JSON object on stdout

BLAS runs single-threaded by default (``--blas-threads``) and so do the b-bit kernels
(``--threads``): the headline is one core.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

PROBLEMS = {"small": (40, 45), "default": (101, 115), "large": (142, 161)}  # antennas, grid pixels per side
TARGETS = {8: 6.0, 4: 7.0, 2: 6.0}  # issue 18: speed-up per matvec pair vs float64, one thread
STREAM_TARGET = 0.6  # each 8-bit product at >= 60 % of the stream bandwidth


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="quick run: 40 antennas, 45x45 grid")
    p.add_argument("--problems", default="default,large", help="comma-separated: default, large")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    p.add_argument("--s", type=int, default=10, help="number of point sources (sparsity)")
    p.add_argument("--iters", type=int, default=None, help="NIHT iterations per bit width (default 20, large 8)")
    p.add_argument("--repeats", type=int, default=5, help="timings per product (best reported)")
    p.add_argument("--solve-repeats", type=int, default=3, help="timed NIHT solves per bit width (best reported)")
    p.add_argument("--bits", default="2,4,8,32,64", help="comma-separated bit widths")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frequency-mhz", type=float, default=60.0)
    p.add_argument("--blas-threads", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="threads of the b-bit kernels")
    return p.parse_args(argv)


def _best(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def station_matrix(np, n_ant: int, npix: int, frequency_mhz: float):
    """The real-stacked LOFAR superterp operator (``2 n_baselines x n_pixels``)."""
    from repro.sparse import layout, operators as op

    stations = [layout.load_station(f"CS00{k}") for k in range(2, 8)]
    etrs = np.vstack([s.etrs for s in stations])
    enu = layout.etrs_to_enu(etrs, stations[0].phase_centre)
    pick = np.linspace(0, len(enu) - 1, n_ant).round().astype(int)
    grid = op.sky_grid(npix)
    uvw = op.baseline_uvw(enu[pick], frequency_mhz * 1e6)
    nb, n = uvw.shape[0], grid.n_pixels
    A = np.empty((2 * nb, n))
    step = max(1, (1 << 24) // max(n, 1))
    for i in range(0, nb, step):
        i1 = min(nb, i + step)
        ph = -2 * np.pi * (np.outer(uvw[i:i1, 0], grid.l) + np.outer(uvw[i:i1, 1], grid.m)
                           + np.outer(uvw[i:i1, 2], grid.n))
        A[i:i1] = np.cos(ph)
        A[nb + i:nb + i1] = np.sin(ph)
    return A


def run_problem(np, A, bits_list, s: int, iters: int, repeats: int, seed: int, threads: int,
                solve_repeats: int = 3) -> list[dict]:
    """One row per bit width: bytes, product times and GB/s, NIHT time per iteration, recovery."""
    from repro.sparse import iht as ih
    from repro.sparse import lowprec

    rng = np.random.default_rng(seed)
    m, n = A.shape
    truth = np.zeros(n)
    supp = np.sort(rng.choice(n, s, replace=False))
    truth[supp] = rng.uniform(1.0, 3.0, s)
    y = A @ truth
    x = rng.standard_normal(n)
    r = rng.standard_normal(m)
    rows = []
    for b in bits_list:
        q1, q2, qy = lowprec.lowprec_operators(A, y, b, np.random.default_rng([seed, b]), pack=True)
        for q in (q1, q2):
            if hasattr(q, "threads"):
                q.threads = threads
        t_mv = _best(lambda: q1.matvec(x), repeats)
        t_rmv = _best(lambda: q2.rmatvec(r), repeats)
        t_iter = float("inf")
        for _ in range(max(1, solve_repeats)):  # best of a few solves: a busy machine preempts long runs
            t0 = time.perf_counter()
            res = ih.niht(q1, qy, s, n_iter=iters, tol=0.0, AT=q2)
            t_iter = min(t_iter, (time.perf_counter() - t0) / max(res.n_iter, 1))
        layout = ("float32" if b == 32 else "float64" if b == 64 else
                  "packed" if getattr(q1, "packed", False) else "uint8")
        rows.append({"bits": b, "layout": layout, "bytes_phi": int(q1.nbytes),
                     "matvec_s": t_mv, "rmatvec_s": t_rmv, "seconds_per_matvec_pair": t_mv + t_rmv,
                     "matvec_gb_s": q1.nbytes / t_mv / 1e9, "rmatvec_gb_s": q2.nbytes / t_rmv / 1e9,
                     "seconds_per_iteration": t_iter, "iterations": res.n_iter,
                     "support_recovered": bool(np.array_equal(res.support, supp)),
                     "relative_error": float(np.linalg.norm(res.x - truth) / np.linalg.norm(truth))})
        del q1, q2
    base = next((r for r in rows if r["bits"] == 64), rows[0])
    for r in rows:
        r["bytes_ratio_to_float64"] = base["bytes_phi"] / r["bytes_phi"]
        r["speedup_matvec_pair_vs_float64"] = base["seconds_per_matvec_pair"] / r["seconds_per_matvec_pair"]
        r["speedup_per_iteration_vs_float64"] = base["seconds_per_iteration"] / r["seconds_per_iteration"]
    return rows


def _print_table(out: dict, prob: dict) -> None:
    bw = out["stream_gb_s"]
    print(f"\n{prob['name']}: Phi {prob['measurements']} x {prob['pixels']} (real LOFAR superterp LBA layout, "
          f"{prob['antennas']} antennas), s={prob['sparsity']}, {prob['iterations']} NIHT iterations")
    hdr = (f"{'bits':>4} {'layout':>8} {'MB Phi':>8} {'ms Phi x':>9} {'GB/s':>6} {'%strm':>5} {'ms PhiTr':>9} "
           f"{'GB/s':>6} {'%strm':>5} {'pair x':>7} {'target':>7} {'ms/iter':>8} {'iter x':>7} {'support':>7} "
           f"{'rel.err':>8}")
    print(hdr)
    print("-" * len(hdr))
    for r in prob["rows"]:
        tgt = TARGETS.get(r["bits"])
        mark = "" if tgt is None else f">={tgt:g} " + ("ok" if r["speedup_matvec_pair_vs_float64"] >= tgt else "no")
        print(f"{r['bits']:>4} {r['layout']:>8} {r['bytes_phi'] / 1e6:>8.1f} {1e3 * r['matvec_s']:>9.2f} "
              f"{r['matvec_gb_s']:>6.1f} {100 * r['matvec_gb_s'] / bw:>5.0f} {1e3 * r['rmatvec_s']:>9.2f} "
              f"{r['rmatvec_gb_s']:>6.1f} {100 * r['rmatvec_gb_s'] / bw:>5.0f} "
              f"{r['speedup_matvec_pair_vs_float64']:>7.2f} {mark:>7} {1e3 * r['seconds_per_iteration']:>8.2f} "
              f"{r['speedup_per_iteration_vs_float64']:>7.2f} {'yes' if r['support_recovered'] else 'no':>7} "
              f"{r['relative_error']:>8.3f}")


def main(argv=None) -> int:
    a = _args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.blas_threads)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    repo_data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
    if not os.environ.get("REPRO_DATA") and os.path.isdir(repo_data):
        os.environ["REPRO_DATA"] = os.path.abspath(repo_data)
    import numpy as np

    from repro import quantize as qz
    from repro.papers.iht import copy_bandwidth
    from repro.sparse import kernels

    load_before = os.getloadavg()
    kernels.warm_up(a.threads)
    bits_list = [qz.check_bits(int(b)) for b in a.bits.split(",")]
    names = ["small"] if a.small else [p.strip() for p in a.problems.split(",") if p.strip()]
    for name in names:
        if name not in PROBLEMS:
            raise SystemExit(f"unknown problem {name!r}; choose from {sorted(PROBLEMS)}")
    out = {"benchmark": "iht_lowprec", "blas_threads": a.blas_threads, "kernel_threads": a.threads,
           "seed": a.seed, "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs",
           "numpy": np.__version__, "stream_gb_s": copy_bandwidth(512), "problems": []}
    for name in names:
        n_ant, npix = PROBLEMS[name]
        iters = a.iters or (8 if name == "large" else 40 if name == "small" else 20)
        A = station_matrix(np, n_ant, npix, a.frequency_mhz)
        rows = run_problem(np, A, bits_list, a.s, iters, a.repeats, a.seed, a.threads, a.solve_repeats)
        out["problems"].append({"name": name, "measurements": A.shape[0], "pixels": A.shape[1], "antennas": n_ant,
                                "sparsity": a.s, "iterations": iters, "rows": rows})
        del A
    out["stream_gb_s_after"] = copy_bandwidth(512)
    out["load_average_before"], out["load_average_after"] = list(load_before), list(os.getloadavg())
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"low-precision NIHT on {out['machine']}, numpy {out['numpy']}, BLAS threads {a.blas_threads}, "
          f"kernel threads {a.threads}")
    print(f"load average (1, 5, 15 min): before {', '.join(f'{v:.2f}' for v in load_before)}; "
          f"after {', '.join(f'{v:.2f}' for v in out['load_average_after'])}")
    print(f"stream bandwidth (float64 copy, read + write): {out['stream_gb_s']:.1f} GB/s before, "
          f"{out['stream_gb_s_after']:.1f} GB/s after; %strm below is against the first")
    for prob in out["problems"]:
        _print_table(out, prob)
    print(f"\ntimes: best of {a.repeats} per product and of {a.solve_repeats} NIHT solves; 'pair x' = speed-up of Phi x + Phi^T r vs float64 "
          f"(issue 18 targets, one thread: 8 bits >= 6, 4 bits >= 7, 2 bits >= 6; each 8-bit product >= "
          f"{100 * STREAM_TARGET:.0f} % of stream); 'iter x' = speed-up per NIHT iteration vs float64")
    return 0


if __name__ == "__main__":
    sys.exit(main())
