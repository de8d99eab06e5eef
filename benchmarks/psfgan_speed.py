"""PSFGAN against the two-component fit: seconds per image, as a benchmark (issue: speed measured like one).

On the real SDSS test hosts (``n_real_hosts`` hosts, their views and point sources, built as ``02_simulate``
builds the test set), times in ``--repeats`` rounds: the GAN one image per call and in batches, and the
two-component pyimfit fit serially and with one process per core (:func:`repro.papers.psfgan.speed_benchmark`,
the measurement the chain's ``06_speed`` uses). The generator is the record's Sérsic GAN when its weights are in
``results/psfgan/full/gan_sersic/`` and otherwise a freshly initialised one of the same architecture (its speed
does not depend on the weights' values). Prints a table with the fastest round and the median of the rounds,
the ratios, the load average, and the target: batched GAN at least 100x faster per image than one fit per core.

    python benchmarks/psfgan_speed.py [--images 20] [--repeats 5] [--json out.json] [-p NAME VALUE ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repro import params  # noqa: E402
from repro.papers import psfgan as paper  # noqa: E402

TARGET = 100.0
"""Batched GAN time per image at least this many times below one fit per core's."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20, help="real-host test images timed (at least 20 for the table)")
    ap.add_argument("--repeats", type=int, default=5, help="rounds")
    ap.add_argument("--processes", type=int, default=None, help="worker processes of the parallel fits (default: cores)")
    ap.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="override a psfgan full-profile parameter (e.g. -p stamp_size 32)")
    ap.add_argument("--json", help="also write the measurement as JSON to this file")
    a = ap.parse_args(argv)
    P = params.load("psfgan", "full", dict(a.p))
    S = paper.setup(P)
    test, view_psfs = S.make_test_set(np.random.default_rng(S.seeds.simulation))
    n = min(a.images, len(test["inputs"]))
    g = S.new_gan()
    weights = ROOT / "results" / "psfgan" / "full" / "gan_sersic"
    source = "untrained (same architecture)"
    if not dict(a.p) and (weights / "generator.weights.h5").exists():
        g.load(weights)
        source = f"the record's ({weights.relative_to(ROOT)})"
    out = paper.speed_benchmark(g.generator, test["inputs"][:n], view_psfs, test["psf_index"], test["sky_sigma"],
                                test["gain"], aperture_radius=P.aperture_radius, ftol=P.fit_ftol,
                                repeats=a.repeats, processes=a.processes)
    out.update(generator=source, stamp_size=P.stamp_size, threads=S.threads, cpu_count=os.cpu_count())
    rows = [("PSFGAN, one image per call", "gan_single_s"), ("PSFGAN, batches of 64", "gan_batched_s"),
            ("two-component fit, serial", "fit_serial_s"),
            (f"two-component fit, {out['processes']} processes", "fit_per_core_s")]
    print(f"{n} real-host test images of {P.stamp_size}x{P.stamp_size}, {a.repeats} rounds, generator {source}, "
          f"TensorFlow {S.threads} threads, {os.cpu_count()} cores; load average {out['load_before']:.2f} before, "
          f"{out['load_after']:.2f} after\n")
    print(f"| {'measurement':<36} | fastest (ms/image) | median (ms/image) |")
    print(f"|{'-' * 38}|{'-' * 20}|{'-' * 19}|")
    for label, k in rows:
        print(f"| {label:<36} | {1000 * out[k + '_fastest']:>18.2f} | {1000 * out[k + '_median']:>17.2f} |")
    ok = out["ratio_like_for_like"] >= TARGET
    print(f"\nratio, fit per core / GAN batched: {out['ratio_like_for_like']:.0f}x (median), "
          f"{out['ratio_like_for_like_fastest']:.0f}x (fastest); target >= {TARGET:.0f}x: {'met' if ok else 'MISSED'}")
    print(f"ratio, fit serial / GAN one image per call: {out['ratio_single']:.0f}x (median)")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
