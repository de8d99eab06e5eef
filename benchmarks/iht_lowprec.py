"""Benchmark: time per low-precision IHT iteration and bytes of Phi, b in {2, 4, 8, 32, 64}.

The measurement operator is the real-stacked matrix ``[Re Phi; Im Phi]`` of a LOFAR core
station set (the real LBA antenna positions of the superterp stations CS002-CS007, local
east/north/up) at 60 MHz on a grid of directions above the horizon; the default problem is
about 10^4 x 10^4 (101 antennas -> 5050 baselines -> 10100 real rows; 115 x 115 grid ->
~1.04e4 pixels above the horizon). The sky holds ``s`` point sources of known positions;
``y = A x`` (noiseless). For each bit width the matrix is quantized twice (independent
stochastic rounding, one scale per row; 32 = float32, 64 = float64) and normalized IHT runs
a fixed number of iterations; the table gives seconds per iteration, seconds per
matrix-vector product pair, bytes of one copy of Phi, ratios to float64, and whether the
recovered support equals the true one.

Usage::

    python benchmarks/iht_lowprec.py            # default ~1e4 x 1e4
    python benchmarks/iht_lowprec.py --small    # ~1.6e3 x 1.6e3, seconds
    python benchmarks/iht_lowprec.py --json     # one JSON object on stdout

BLAS runs single-threaded by default (``--blas-threads``) so that the float64 baseline and
the block products are measured alike (multi-threaded gemv on small blocks is slower).
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
    p.add_argument("--small", action="store_true", help="quick run: 40 antennas, 45x45 grid")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--n-antennas", type=int, default=None, help="antennas (default 101, small 40)")
    p.add_argument("--npix", type=int, default=None, help="grid pixels per side (default 115, small 45)")
    p.add_argument("--s", type=int, default=10, help="number of point sources (sparsity)")
    p.add_argument("--iters", type=int, default=None, help="NIHT iterations per bit width (default 20, small 40)")
    p.add_argument("--bits", default="2,4,8,32,64", help="comma-separated bit widths")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frequency-mhz", type=float, default=60.0)
    p.add_argument("--blas-threads", type=int, default=1)
    return p.parse_args(argv)


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
    from repro.sparse import iht as ih
    from repro.sparse import layout, lowprec, operators as op

    n_ant = a.n_antennas or (40 if a.small else 101)
    npix = a.npix or (45 if a.small else 115)
    iters = a.iters or (40 if a.small else 20)
    bits_list = [qz.check_bits(int(b)) for b in a.bits.split(",")]
    rng = np.random.default_rng(a.seed)

    # real LOFAR core layout: LBA antennas of the superterp stations, local ENU about CS002
    stations = [layout.load_station(f"CS00{k}") for k in range(2, 8)]
    etrs = np.vstack([s.etrs for s in stations])
    enu = layout.etrs_to_enu(etrs, stations[0].phase_centre)
    pick = np.linspace(0, len(enu) - 1, n_ant).round().astype(int)
    pos = enu[pick]
    grid = op.sky_grid(npix)
    uvw = op.baseline_uvw(pos, a.frequency_mhz * 1e6)
    nb, n = uvw.shape[0], grid.n_pixels
    A = np.empty((2 * nb, n))
    step = max(1, (1 << 24) // max(n, 1))
    for i in range(0, nb, step):
        i1 = min(nb, i + step)
        ph = -2 * np.pi * (np.outer(uvw[i:i1, 0], grid.l) + np.outer(uvw[i:i1, 1], grid.m)
                           + np.outer(uvw[i:i1, 2], grid.n))
        A[i:i1] = np.cos(ph)
        A[nb + i:nb + i1] = np.sin(ph)
    s = a.s
    truth = np.zeros(n)
    supp = np.sort(rng.choice(n, s, replace=False))
    truth[supp] = rng.uniform(1.0, 3.0, s)
    y = A @ truth

    rows = []
    for b in bits_list:
        brng = np.random.default_rng([a.seed, b])
        t0 = time.perf_counter()
        q1, q2, qy = lowprec.lowprec_operators(A, y, b, brng, pack=True)
        t_quant = time.perf_counter() - t0
        variants = [("packed" if getattr(q1, "packed", False) else "", q1, q2)]
        if getattr(q1, "packed", False):  # also the byte-code layout of the same codes
            variants.append(("int8", lowprec.QuantizedMatrix(q1.codes(), q1.scales, b, pack=False),
                             lowprec.QuantizedMatrix(q2.codes(), q2.scales, b, pack=False)))
        for layout, Q1, Q2 in variants:
            x = rng.standard_normal(n)
            r = rng.standard_normal(2 * nb)
            Q1.matvec(x)
            t0 = time.perf_counter()
            for _ in range(3):
                Q1.matvec(x)
                Q2.rmatvec(r)
            t_pair = (time.perf_counter() - t0) / 3
            t0 = time.perf_counter()
            res = ih.niht(Q1, qy, s, n_iter=iters, tol=0.0, AT=Q2)
            t_iter = (time.perf_counter() - t0) / max(res.n_iter, 1)
            rel_err = float(np.linalg.norm(res.x - truth) / np.linalg.norm(truth))
            rows.append({"bits": b, "layout": layout or ("float32" if b == 32 else "float64" if b == 64 else "uint8"),
                         "bytes_phi": int(Q1.nbytes), "seconds_per_iteration": t_iter,
                         "seconds_per_matvec_pair": t_pair, "quantize_seconds": t_quant,
                         "iterations": res.n_iter, "support_recovered": bool(np.array_equal(res.support, supp)),
                         "relative_error": rel_err})
    base = next((r for r in rows if r["bits"] == 64), rows[0])
    for r in rows:
        r["bytes_ratio_to_float64"] = base["bytes_phi"] / r["bytes_phi"]
        r["speedup_per_iteration_vs_float64"] = base["seconds_per_iteration"] / r["seconds_per_iteration"]
        r["speedup_matvec_pair_vs_float64"] = base["seconds_per_matvec_pair"] / r["seconds_per_matvec_pair"]
    out = {"benchmark": "iht_lowprec", "measurements": 2 * nb, "pixels": n, "antennas": n_ant,
           "sparsity": s, "iterations": iters, "blas_threads": a.blas_threads, "seed": a.seed,
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs",
           "numpy": np.__version__, "rows": rows}
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"low-precision NIHT: Phi {2 * nb} x {n} (real LOFAR superterp LBA layout, {n_ant} antennas), "
          f"s={s}, {iters} iterations, BLAS threads={a.blas_threads}")
    hdr = f"{'bits':>4} {'layout':>8} {'MB of Phi':>10} {'x smaller':>9} {'s/iter':>9} {'speed-up':>8} " \
          f"{'s/mv+rmv':>9} {'speed-up':>8} {'support':>8} {'rel.err':>8}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['bits']:>4} {r['layout']:>8} {r['bytes_phi'] / 1e6:>10.2f} {r['bytes_ratio_to_float64']:>9.2f} "
              f"{r['seconds_per_iteration']:>9.4f} {r['speedup_per_iteration_vs_float64']:>8.2f} "
              f"{r['seconds_per_matvec_pair']:>9.4f} {r['speedup_matvec_pair_vs_float64']:>8.2f} "
              f"{'yes' if r['support_recovered'] else 'no':>8} {r['relative_error']:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
