"""Driver of the ``iht`` chain: low-precision IHT on a real LOFAR station (Gurel et al. 2018,
arXiv:1802.04907).

:func:`setup` reads the chain's parameters and returns what its notebooks share: the real
station problem on the chain's grid (and on the larger grid of the timings), built only when a
notebook first asks for it, and the named seeds. The rest are the chain's experiments: the
noise left by a sparse fit of the real data (``01_data``), the recovery table of simulated
skies (``02_recovery``), the real-sky maps at each precision (``03_real_sky``) and the
memory and speed tables (``04_speed``). The computing is :mod:`repro.sparse`; the b-bit
products are the compiled kernels of :mod:`repro.sparse.kernels`, compiled (or loaded from
Numba's cache) before anything is timed.

The chain uses no threads of its own: numpy's BLAS runs as configured by the environment, except
in the timings (:func:`operator_timings`, :func:`solve_timings`), where BLAS is held to one
thread like the b-bit kernels, so that every precision is timed on one core.

Example
-------
>>> from repro import params
>>> from repro.papers import iht as paper
>>> S = paper.setup(params.load("iht", "smoke"))
>>> S.seeds.recovery, S.seeds.real_sky, S.seeds.speed
(0, 0, 0)
>>> S.problem.shape                                   # doctest: +SKIP
(2162, 575)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import Mapping

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .. import quantize as qz
from ..sparse import iht as iht_mod
from ..sparse import kernels, lowprec, operators, skies, station

__all__ = ["Seeds", "Setup", "setup", "noise_fraction", "recovery_table", "real_sky_table", "copy_bandwidth",
           "operator_timings", "solve_timings", "best_speedup", "accurate_precisions"]


@dataclass(frozen=True)
class Seeds:
    """The chain's named seeds.

    Attributes
    ----------
    recovery : int
        ``02_recovery``: root of the ``SeedSequence`` spawned into one child per simulated sky
        (:func:`recovery_table`).
    real_sky : int
        ``03_real_sky``: the generator of the stochastic quantizations of the real problem.
    speed : int
        ``04_speed``: the generator of the timing vectors and quantizations.
    """

    recovery: int
    real_sky: int
    speed: int


@dataclass(frozen=True)
class Setup:
    """What the notebooks of the chain share (:func:`setup`).

    Attributes
    ----------
    params : repro.params.Params
        The run's parameters.
    seeds : Seeds
        Named seeds.
    """

    params: object
    seeds: Seeds

    @cached_property
    def problem(self) -> station.StationProblem:
        """The real problem on the ``npix`` grid (built on first use)."""
        P = self.params
        return station.station_problem(P.npix, P.min_elevation_deg, P.calibrate)

    @cached_property
    def speed_problem(self) -> station.StationProblem:
        """The real problem on the larger ``speed_npix`` grid of the timings (built on first use)."""
        P = self.params
        return station.station_problem(P.speed_npix, P.min_elevation_deg, P.calibrate)


def setup(params, run=None) -> Setup:
    """The chain's shared setup: seeds now, station problems on first use.

    Parameters
    ----------
    params : repro.params.Params
        The run's parameters (``run.params``).
    run : repro.chains.RunContext, optional
        The notebook's run (unused; accepted so that every driver is called alike).

    Returns
    -------
    Setup
    """
    # every notebook seeds its own generator with the chain's seed, as the record was made
    seeds = Seeds(recovery=params.seed, real_sky=params.seed, speed=params.seed)
    return Setup(params=params, seeds=seeds)


def noise_fraction(problem: station.StationProblem, s: int, n_iter: int = 300) -> float:
    """How much of the real data ``s`` point sources do not explain: ``||y - A x_s|| / ||y||``.

    ``x_s`` is the float64 NIHT fit; what remains is diffuse emission (the Galactic plane) and noise.

    Parameters
    ----------
    problem : repro.sparse.station.StationProblem
    s : int
        Sparsity of the fit.
    n_iter : int
        Maximum NIHT iterations.

    Returns
    -------
    float
    """
    res = iht_mod.niht(problem.A, problem.y, s, n_iter=n_iter)
    return float(np.linalg.norm(problem.y - problem.A @ res.x) / np.linalg.norm(problem.y))


def recovery_table(A: np.ndarray, grid: operators.SkyGrid, bits_list, s_list, n_seeds: int, noise: float,
                   seed: int, n_iter: int = 300, min_sep_pix: float = 3.0, progress: bool = False) -> pd.DataFrame:
    """Recovery error and exact support recovery on simulated skies.

    For each sparsity ``s`` and seed, one sky and one noisy measurement are drawn; each
    ``bits`` is solved with stochastic and (below float64) deterministic rounding on the same
    measurement.

    Parameters
    ----------
    A : ndarray, shape (m, n)
        The real-stacked operator.
    grid : repro.sparse.operators.SkyGrid
        Its pixels.
    bits_list : list of int
        Precisions (64: float64).
    s_list : list of int
        Sparsities.
    n_seeds : int
        Skies per sparsity.
    noise : float
        Noise-to-signal ratio (:func:`repro.sparse.skies.add_noise`).
    seed : int
        Root of a ``SeedSequence`` spawned into one generator per sky, which draws the sky,
        the noise and every quantization of that sky.
    n_iter : int
        Maximum NIHT iterations.
    min_sep_pix : float
        Minimum source separation in pixels.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        One row per solve: ``s, seed, bits, rounding, rel_error, support_ok, n_iter``.
    """
    from tqdm import tqdm   # text bars (tqdm.auto warns, with a path of the machine, when ipywidgets is absent)

    rows = []
    ss = np.random.SeedSequence(seed)
    jobs = [(s, k) for s in s_list for k in range(n_seeds)]
    children = ss.spawn(len(jobs))
    for (s, k), child in tqdm(list(zip(jobs, children)), disable=not progress, desc="skies"):
        rng = np.random.default_rng(child)
        x = skies.random_sky(grid, s, rng, min_sep_pix)
        y = skies.add_noise(A @ x, noise, rng)
        for bits in bits_list:
            modes = ["float64"] if bits >= lowprec.FULL_PRECISION else ["stochastic", "deterministic"]
            for mode in modes:
                res = lowprec.lowprec_niht(A, y, s, bits, rng, stochastic=(mode != "deterministic"), n_iter=n_iter)
                rows.append({"s": s, "seed": k, "bits": bits, "rounding": mode,
                             "rel_error": skies.relative_error(res.x, x),
                             "support_ok": skies.support_recovered(res.x, x), "n_iter": res.n_iter})
    return pd.DataFrame(rows)


def real_sky_table(problem: station.StationProblem, bits_list, s: int, n_repeats: int, rng: np.random.Generator,
                   n_iter: int, tol: float, top: int = 3):
    """The real snapshot imaged in float64 and ``n_repeats`` times at each lower precision.

    Parameters
    ----------
    problem : repro.sparse.station.StationProblem
    bits_list : list of int
        Precisions; those below 64 are compared with the float64 map.
    s : int
        Sparsity of every map.
    n_repeats : int
        Independent stochastic quantizations per precision.
    rng : numpy.random.Generator
        Source of the quantizations (precisions in order, repeats within).
    n_iter : int
        Maximum NIHT iterations.
    tol : float
        Two sources are the same within this distance in (l, m).
    top : int
        How many of the brightest sources are compared.

    Returns
    -------
    full : ndarray
        The float64 map.
    maps : dict
        ``{bits: map}``: the float64 map and the first repeat at each precision.
    table : pandas.DataFrame
        One row per repeat: ``bits, repeat, rel_diff`` (to float64) and ``same_top3`` (the
        ``top`` brightest sources match float64's).
    """
    grid = problem.grid
    full = lowprec.lowprec_niht(problem.A, problem.y, s, lowprec.FULL_PRECISION, rng, n_iter=n_iter).x
    ref = skies.brightest(full, grid, top)
    rows, maps = [], {lowprec.FULL_PRECISION: full}
    for bits in [b for b in bits_list if b < lowprec.FULL_PRECISION]:
        for k in range(n_repeats):
            x = lowprec.lowprec_niht(problem.A, problem.y, s, bits, rng, n_iter=n_iter).x
            maps.setdefault(bits, x)
            rows.append({"bits": bits, "repeat": k, "rel_diff": skies.relative_error(x, full),
                         "same_top3": skies.same_sources(ref, skies.brightest(x, grid, top), tol)})
    return full, maps, pd.DataFrame(rows)


def copy_bandwidth(mib: int = 256, repeats: int = 5) -> float:
    """The machine's stream bandwidth: GB/s of a float64 copy of ``mib`` MiB, best of ``repeats``.

    Counted as bytes read plus bytes written (the STREAM convention), so that a product that
    reads its matrix once at this rate is at the memory limit.

    Parameters
    ----------
    mib : int
        Size of the copied array (well above the last-level cache).
    repeats : int
        Timed copies after one untimed copy.

    Returns
    -------
    float
    """
    src = np.ones(int(mib) * (1 << 20) // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = np.inf
    for _ in range(int(repeats)):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return 2 * src.nbytes / best / 1e9


def _time_operators(A, bits_list, rng, repeats, x, r, rows):
    """The loop of :func:`operator_timings` (appends one row per precision and layout)."""
    for bits in bits_list:
        layouts = [False, True] if bits in (1, 2, 4) else [False]
        for pack in layouts:
            Q = lowprec.stored_matrix(A, bits, rng=rng, pack=pack)
            t_mv, t_rmv = [], []
            Q.matvec(x), Q.rmatvec(r)  # warm up
            for _ in range(repeats):
                t0 = time.perf_counter()
                Q.matvec(x)
                t1 = time.perf_counter()
                Q.rmatvec(r)
                t2 = time.perf_counter()
                t_mv.append(t1 - t0)
                t_rmv.append(t2 - t1)
            layout = "float64" if bits >= 64 else "float32" if bits == 32 else ("packed" if pack else "bytes")
            rows.append({"bits": bits, "layout": layout, "bytes": int(Q.nbytes),
                         "matvec_s": float(np.median(t_mv)), "rmatvec_s": float(np.median(t_rmv))})


def operator_timings(A: np.ndarray, bits_list, rng: np.random.Generator, repeats: int = 5) -> pd.DataFrame:
    """Bytes of the stored ``A`` and median time of ``A x`` and ``A^T r`` per precision.

    ``bits = 64`` is the float64 array; 32 is float32; lower ``bits`` use one-byte codes and,
    for 1, 2 and 4 bits, also the bit-packed layout (both through :mod:`repro.sparse.kernels`).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    bits_list : list of int
        Precisions; must include 64 (the reference).
    rng : numpy.random.Generator
        Draws the vectors ``x``, ``r`` and the quantizations.
    repeats : int
        Timings per product (median reported).

    Returns
    -------
    pandas.DataFrame
        ``bits, layout, bytes, matvec_s, rmatvec_s``, the bytes of ``A`` read per second by each
        product (``matvec_gb_s, rmatvec_gb_s``) and the ratios to float64 measured in the same
        call, ``memory_ratio`` and ``speedup`` (of the pair ``A x``, ``A^T r``).
    """
    kernels.warm_up()
    x = rng.standard_normal(A.shape[1])
    r = rng.standard_normal(A.shape[0])
    rows = []
    with threadpool_limits(1, user_api="blas"):
        _time_operators(A, bits_list, rng, repeats, x, r, rows)
    df = pd.DataFrame(rows)
    df["matvec_gb_s"] = df["bytes"] / df["matvec_s"] / 1e9
    df["rmatvec_gb_s"] = df["bytes"] / df["rmatvec_s"] / 1e9
    ref = df[df.bits >= 64].iloc[0]
    df["memory_ratio"] = ref["bytes"] / df["bytes"]
    df["speedup"] = (ref["matvec_s"] + ref["rmatvec_s"]) / (df["matvec_s"] + df["rmatvec_s"])
    return df


def solve_timings(A: np.ndarray, y: np.ndarray, s: int, bits_list, rng: np.random.Generator,
                  n_iter: int = 50) -> pd.DataFrame:
    """Wall time per NIHT iteration at each precision on the same problem.

    Codes below 32 bits are stored as :func:`repro.sparse.lowprec.lowprec_operators` stores them
    (bit-packed for 1, 2, 4 bits, one byte otherwise). Quantizing ``A`` is not timed (it is done
    once per matrix, as on the paper's FPGA), nor is compiling the kernels.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    s : int
        Sparsity.
    bits_list : list of int
        Precisions; must include 64 (the reference).
    rng : numpy.random.Generator
        Draws the quantizations.
    n_iter : int
        Iterations timed (no early stop).

    Returns
    -------
    pandas.DataFrame
        ``bits, n_iter, s_per_iter`` and ``speedup`` against float64 measured in the same call.
    """
    kernels.warm_up()
    rows = []
    for bits in bits_list:
        bits = qz.check_bits(bits)
        if bits >= lowprec.FULL_PRECISION:
            ops = (A, None, y)
        else:
            ops = lowprec.lowprec_operators(A, y, bits, rng)
        with threadpool_limits(1, user_api="blas"):
            t0 = time.perf_counter()
            res = iht_mod.niht(ops[0], ops[2], s, n_iter=n_iter, tol=0.0, AT=ops[1])
            dt = time.perf_counter() - t0
        rows.append({"bits": bits, "n_iter": res.n_iter, "s_per_iter": dt / max(res.n_iter, 1)})
    df = pd.DataFrame(rows)
    ref = df[df.bits >= lowprec.FULL_PRECISION]["s_per_iter"].iloc[0]
    df["speedup"] = ref / df["s_per_iter"]
    return df


def accurate_precisions(recovery: Mapping, min_support: float) -> list[int]:
    """The quantized precisions whose support recovery holds: stochastic rounding, exact support in
    at least ``min_support`` of the simulated skies of ``02_recovery``.

    Parameters
    ----------
    recovery : mapping
        ``recovery.json`` of ``02_recovery`` (columns ``bits``, ``rounding``, ``support_ok``).
    min_support : float
        The fraction of skies with the exact support a precision needs (the support claims' threshold).

    Returns
    -------
    list of int
        Ascending.

    Examples
    --------
    >>> accurate_precisions({"bits": [2, 2, 4, 4, 64], "rounding": ["stochastic"] * 4 + ["float64"],
    ...                      "support_ok": [True, False, True, True, True]}, 0.9)
    [4]
    """
    t = pd.DataFrame(dict(recovery))
    q = t[(t.rounding == "stochastic") & (t.bits <= 16)]
    rate = q.groupby("bits").support_ok.mean()
    return sorted(int(b) for b, r in rate.items() if r >= min_support)


def best_speedup(solves: pd.DataFrame, max_bits: int = 16, eligible=None) -> tuple[int, float]:
    """The largest speed-up per iteration of a ``b``-bit solve (``b <= max_bits``) in a :func:`solve_timings` table.

    Parameters
    ----------
    solves : pandas.DataFrame
        :func:`solve_timings` output (float64 measured in the same call).
    max_bits : int
        Widest precision that counts as quantized (16: float32 and float64 do not).
    eligible : iterable of int, optional
        Only these precisions count (e.g. :func:`accurate_precisions`: a speed-up bought with a
        precision that loses the support is not the paper's claim).

    Returns
    -------
    bits : int
        The precision that reached it.
    speedup : float

    Raises
    ------
    ValueError
        If the table has no quantized (and eligible) row.
    """
    q = solves[solves.bits <= max_bits]
    if eligible is not None:
        q = q[q.bits.isin(list(eligible))]
    if q.empty:
        raise ValueError(f"no solve at {max_bits} bits or fewer"
                         + (f" among the eligible precisions {sorted(eligible)}" if eligible is not None else "")
                         + " in the table")
    row = q.loc[q.speedup.idxmax()]
    return int(row.bits), float(row.speedup)
