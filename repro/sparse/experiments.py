"""The experiments of the ``iht`` chain: the real station problem, simulated skies, recovery
tables, the real-sky comparison and operator timings (Gurel et al., arXiv:1802.04907).

Everything here is built from :mod:`repro.sparse.lofar`, :mod:`~repro.sparse.operators`,
:mod:`~repro.sparse.iht` and :mod:`~repro.sparse.quantize`; the notebooks call these functions
and plot their results.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import iht as iht_mod
from . import lofar, operators, quantize

FULL_PRECISION = 64  # bits meaning "float64, no quantization"


@dataclass
class StationProblem:
    """The real RS509 imaging problem: real-stacked operator ``A`` and visibilities ``y``."""

    snapshot: lofar.Snapshot
    grid: operators.SkyGrid
    op: operators.StationOperator
    A: np.ndarray
    y: np.ndarray
    sources: dict

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape


def station_problem(npix: int, min_elevation_deg: float = 10.0, calibrate: bool = True) -> StationProblem:
    """Build the real problem on an ``npix x npix`` (l, m) grid above ``min_elevation_deg``.

    ``A = [Re Phi; Im Phi]`` over the unflagged baselines, ``y`` the matching real-stacked
    (calibrated) visibilities, ``sources`` the (l, m) of Cas A, Cyg A and the Sun at the
    observation time (astropy, offline).
    """
    snap = lofar.load_snapshot(calibrate=calibrate)
    grid = operators.sky_grid(npix, min_elevation_deg)
    pairs = snap.pairs()
    op = operators.StationOperator(operators.baseline_uvw(snap.positions_enu, snap.frequency_hz, pairs), grid)
    y = operators.stack_real(snap.visibilities(pairs))
    sources = lofar.source_directions(snap.time_utc, lofar.station_location(snap.station))
    return StationProblem(snap, grid, op, op.real_matrix(), y, sources)


def random_sky(grid: operators.SkyGrid, s: int, rng: np.random.Generator, min_sep_pix: float = 3.0,
               flux_range: tuple[float, float] = (1.0, 10.0)) -> np.ndarray:
    """An ``s``-sparse non-negative sky: point sources at random pixels at least
    ``min_sep_pix`` grid pixels apart, fluxes log-uniform in ``flux_range``.

    Raises
    ------
    ValueError
        If ``s`` sources cannot be placed with that separation.
    """
    if s < 1 or s > grid.n_pixels:
        raise ValueError(f"s must be in [1, {grid.n_pixels}] for this grid, got {s}")
    step = 2.0 / (grid.npix - 1)
    chosen: list[int] = []
    for idx in rng.permutation(grid.n_pixels):
        if all(np.hypot(grid.l[idx] - grid.l[j], grid.m[idx] - grid.m[j]) >= min_sep_pix * step for j in chosen):
            chosen.append(int(idx))
            if len(chosen) == s:
                break
    if len(chosen) < s:
        raise ValueError(f"cannot place {s} sources {min_sep_pix} pixels apart on a {grid.npix}-pixel grid")
    x = np.zeros(grid.n_pixels)
    lo, hi = np.log(flux_range[0]), np.log(flux_range[1])
    x[chosen] = np.exp(rng.uniform(lo, hi, s))
    return x


def add_noise(clean: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """``clean`` plus white Gaussian noise with ``||noise|| = fraction * ||clean||`` (the real
    snapshot's signal-to-noise ratio when ``fraction`` is :func:`radiometer_noise_fraction`)."""
    if fraction < 0:
        raise ValueError(f"noise fraction must be >= 0, got {fraction}")
    noise = rng.standard_normal(clean.shape)
    return clean + noise * (fraction * np.linalg.norm(clean) / np.linalg.norm(noise))


def solve(A: np.ndarray, y: np.ndarray, s: int, bits: int, rng: np.random.Generator, stochastic: bool = True,
          n_iter: int = 300, pack: bool = False) -> iht_mod.IHTResult:
    """Normalized IHT on ``bits``-bit ``A`` and ``y`` (``bits = 64``: the float64 problem).

    Low precision follows the paper: two independent stochastic quantizations of ``A`` for the
    two products of the gradient, and a quantized ``y`` (or one deterministic rounding of each
    with ``stochastic=False``).
    """
    bits = quantize.check_bits(bits)
    if bits >= FULL_PRECISION:
        return iht_mod.niht(A, y, s, n_iter=n_iter)
    q1, q2, qy = quantize.lowprec_operators(A, y, bits, rng, stochastic=stochastic, pack=pack)
    return iht_mod.niht(q1, qy, s, n_iter=n_iter, AT=q2)


def relative_error(x_hat: np.ndarray, x: np.ndarray) -> float:
    """``||x_hat - x|| / ||x||``."""
    return float(np.linalg.norm(x_hat - x) / np.linalg.norm(x))


def support_recovered(x_hat: np.ndarray, x: np.ndarray) -> bool:
    """Whether the non-zero pixels of ``x_hat`` are exactly those of ``x``."""
    return bool(np.array_equal(np.flatnonzero(x_hat), np.flatnonzero(x)))


def noise_fraction(problem: StationProblem, s: int, n_iter: int = 300) -> float:
    """``||y - A x_s|| / ||y||`` for the float64 ``s``-sparse fit of the real visibilities:
    how much of the real data a few point sources do not explain (diffuse emission, the
    Galactic plane, noise) — the noise level for the simulated skies."""
    res = iht_mod.niht(problem.A, problem.y, s, n_iter=n_iter)
    return float(np.linalg.norm(problem.y - problem.A @ res.x) / np.linalg.norm(problem.y))


def recovery_table(A: np.ndarray, grid: operators.SkyGrid, bits_list, s_list, n_seeds: int, noise: float,
                   seed: int, n_iter: int = 300, min_sep_pix: float = 3.0, progress: bool = False) -> pd.DataFrame:
    """Recovery error and exact support recovery on simulated skies.

    For each sparsity ``s`` and seed, one sky and one noisy measurement are drawn; each
    ``bits`` is solved with stochastic and (below float64) deterministic rounding on the same
    measurement. Returns one row per solve: ``s, seed, bits, rounding, rel_error, support_ok,
    n_iter``.
    """
    from tqdm.auto import tqdm

    rows = []
    ss = np.random.SeedSequence(seed)
    jobs = [(s, k) for s in s_list for k in range(n_seeds)]
    children = ss.spawn(len(jobs))
    for (s, k), child in tqdm(list(zip(jobs, children)), disable=not progress, desc="skies"):
        rng = np.random.default_rng(child)
        x = random_sky(grid, s, rng, min_sep_pix)
        y = add_noise(A @ x, noise, rng)
        for bits in bits_list:
            modes = ["float64"] if bits >= FULL_PRECISION else ["stochastic", "deterministic"]
            for mode in modes:
                res = solve(A, y, s, bits, rng, stochastic=(mode != "deterministic"), n_iter=n_iter)
                rows.append({"s": s, "seed": k, "bits": bits, "rounding": mode,
                             "rel_error": relative_error(res.x, x), "support_ok": support_recovered(res.x, x),
                             "n_iter": res.n_iter})
    return pd.DataFrame(rows)


def brightest(x: np.ndarray, grid: operators.SkyGrid, k: int) -> pd.DataFrame:
    """The ``k`` brightest pixels of a sky: ``l, m, flux`` sorted by flux."""
    idx = np.argsort(x)[::-1][:k]
    return pd.DataFrame({"pixel": idx, "l": grid.l[idx], "m": grid.m[idx], "flux": x[idx]})


def same_sources(a: pd.DataFrame, b: pd.DataFrame, tol: float) -> bool:
    """Whether every source of ``a`` has one in ``b`` within ``tol`` in (l, m)."""
    d = np.hypot(a["l"].to_numpy()[:, None] - b["l"].to_numpy()[None, :],
                 a["m"].to_numpy()[:, None] - b["m"].to_numpy()[None, :])
    return bool(np.all(d.min(axis=1) <= tol))


def operator_timings(A: np.ndarray, bits_list, rng: np.random.Generator, repeats: int = 5) -> pd.DataFrame:
    """Bytes of the stored ``A`` and median time of ``A x`` and ``A^T r`` per precision.

    ``bits = 64`` is the float64 array; 32 is float32; lower ``bits`` use one-byte codes
    (the fast layout in numpy) and, for 2 and 4 bits, also the bit-packed layout. Ratios are
    to float64, measured in the same call.
    """
    x = rng.standard_normal(A.shape[1])
    r = rng.standard_normal(A.shape[0])
    rows = []
    for bits in bits_list:
        layouts = [False, True] if bits in (1, 2, 4) else [False]
        for pack in layouts:
            Q = quantize.stored_matrix(A, bits, rng=rng, pack=pack)
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
    df = pd.DataFrame(rows)
    ref = df[df.bits >= 64].iloc[0]
    df["memory_ratio"] = ref["bytes"] / df["bytes"]
    df["speedup"] = (ref["matvec_s"] + ref["rmatvec_s"]) / (df["matvec_s"] + df["rmatvec_s"])
    return df


def radiometer_noise_fraction(problem: StationProblem, integration_s: float = 1.0,
                              channel_hz: float = 200e6 / 1024) -> float:
    """Thermal noise of the real snapshot relative to its visibilities, ``||n|| / ||y||``.

    The radiometer equation gives, per real component of a cross-correlation of antennas
    ``p, q``, ``sigma = sqrt(A_p A_q / (2 dnu tau))`` with ``A`` the autocorrelations (which
    the sky and receiver noise dominate), ``dnu`` the subband width (200 MHz / 1024) and
    ``tau`` the integration time (1 s is the station's default for XST; the file does not say).
    """
    if integration_s <= 0 or channel_hz <= 0:
        raise ValueError("integration_s and channel_hz must be positive")
    snap = problem.snapshot
    auto = np.abs(np.diag(snap.correlations))  # Stokes I autocorrelation per antenna
    pairs = snap.pairs()
    var = auto[pairs[:, 0]] * auto[pairs[:, 1]] / (2.0 * channel_hz * integration_s)
    noise_norm = np.sqrt(2.0 * var.sum())  # real and imaginary parts
    return float(noise_norm / np.linalg.norm(problem.y))


def solve_timings(A: np.ndarray, y: np.ndarray, s: int, bits_list, rng: np.random.Generator,
                  n_iter: int = 50) -> pd.DataFrame:
    """Wall time per NIHT iteration at each precision on the same problem (one-byte codes
    below 32 bits, the fast layout in numpy). Ratios to float64 measured in the same call;
    quantizing ``A`` is not timed (it is done once per matrix, as on the paper's FPGA)."""
    rows = []
    for bits in bits_list:
        bits = quantize.check_bits(bits)
        if bits >= FULL_PRECISION:
            ops = (A, None, y)
        else:
            q1, q2, qy = quantize.lowprec_operators(A, y, bits, rng, pack=False)
            ops = (q1, q2, qy)
        t0 = time.perf_counter()
        res = iht_mod.niht(ops[0], ops[2], s, n_iter=n_iter, tol=0.0, AT=ops[1])
        dt = time.perf_counter() - t0
        rows.append({"bits": bits, "n_iter": res.n_iter, "s_per_iter": dt / max(res.n_iter, 1)})
    df = pd.DataFrame(rows)
    ref = df[df.bits >= FULL_PRECISION]["s_per_iter"].iloc[0]
    df["speedup"] = ref / df["s_per_iter"]
    return df
