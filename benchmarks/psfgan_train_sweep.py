"""Which training setting of the psfgan chain's GAN converges on two CPU cores: a sweep on validation pairs only.

Builds the chain's Sérsic training pairs and held-out validation pairs exactly as ``02_simulate`` does (full
profile unless ``-p`` overrides it), then trains one GAN per setting for the same number of steps, scoring it on
the validation pairs every ``--eval-every`` steps (the real test hosts are never used). Prints a table — the
best validation score, the step where it was reached, the host and point-source errors there, and the training
time — and with ``--json PATH`` writes every curve.

    python benchmarks/psfgan_train_sweep.py --steps 2500 --json sweep.json [--only "cosine, 5000 steps" ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repro import params  # noqa: E402
from repro.astro import psfgan  # noqa: E402
from repro.papers import psfgan as paper  # noqa: E402

SETTINGS = {
    # stage 1: the learning rate and its schedule, 2,500 steps each
    "paper: constant 9e-5": dict(lr=9e-5, lr_schedule="constant", augment=False),
    "constant 2e-4, augmented": dict(lr=2e-4, lr_schedule="constant", augment=True),
    "cosine 2e-4 -> 1e-5, augmented": dict(lr=2e-4, lr_schedule="cosine", augment=True),
    # stage 2: the number of steps, the generator's size and the loss weights, with the best schedule
    "cosine, 5000 steps": dict(lr=2e-4, lr_schedule="cosine", augment=True, train_steps=5000),
    "cosine, 10000 steps": dict(lr=2e-4, lr_schedule="cosine", augment=True, train_steps=10000),
    "cosine, base_filters 32": dict(lr=2e-4, lr_schedule="cosine", augment=True, base_filters=32, max_filters=256),
    "cosine, center_weight 1": dict(lr=2e-4, lr_schedule="cosine", augment=True, center_weight=1.0),
}
"""Settings (chain parameters) tried; ``train_steps`` defaults to ``--steps``."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2500, help="training steps per setting")
    ap.add_argument("--eval-every", type=int, default=250, help="steps between validation scores")
    ap.add_argument("--only", nargs="*", help="run only these settings (names as in the table)")
    ap.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="override a chain parameter (e.g. -p n_train 4000)")
    ap.add_argument("--json", help="write the settings, curves and table to this file")
    a = ap.parse_args(argv)
    base = dict(a.p)
    P0 = params.load("psfgan", "full", base)
    S0 = paper.setup(P0)
    rng = np.random.default_rng(S0.seeds.simulation)
    psfs, _ = S0.training_psfs
    t0 = time.perf_counter()
    hosts = psfgan.sersic_hosts(P0.n_train, P0.stamp_size, psfs, rng)
    train = psfgan.make_pairs(hosts, psfs, rng, contrast_range=(P0.contrast_min, P0.contrast_max),
                              aperture_radius=P0.aperture_radius)
    val = S0.validation_pairs()["sersic"]
    print(f"{P0.n_train} training and {len(val['inputs'])} validation pairs in {time.perf_counter() - t0:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rows, curves = [], {}
    for name, setting in SETTINGS.items():
        if a.only and name not in a.only:
            continue
        P = params.load("psfgan", "full", {**base, "train_steps": a.steps, **setting})
        S = paper.setup(P)
        g = S.new_gan()

        def validate(generator, P=P, S=S):
            return psfgan.validation_metrics(generator, val, aperture_radius=P.aperture_radius,
                                             min_contrast=P.claim_contrast)

        g.fit(train["inputs"], train["targets"], steps=P.train_steps, batch_size=P.batch_size, seed=S.seeds.gan_batches,
              augment=P.augment, validate=validate, eval_every=a.eval_every, desc=name)
        b = g.best
        rows.append({"setting": name, "steps": P.train_steps, "best_step": b["step"], "best_score": b["score"],
                     "host_median": b["host"]["median"], "host_sigma": b["host"]["robust_sigma"],
                     "ps_median": b["ps"]["median"], "ps_sigma": b["ps"]["robust_sigma"],
                     "last_score": g.history[-1]["score"], "train_minutes": g.history[-1]["train_seconds"] / 60})
        curves[name] = [{k: h[k] for k in ("step", "lr", "g_l1", "d_loss", "score", "train_seconds")}
                        for h in g.history]
        print(json.dumps(rows[-1]), flush=True)
    head = ["setting", "steps", "best score", "at step", "last score", "host median", "host σ", "PS median", "PS σ", "train min"]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        print(f"| {r['setting']} | {r['steps']} | {r['best_score']:.4f} | {r['best_step']} | {r['last_score']:.4f} | "
              f"{r['host_median']:+.4f} | {r['host_sigma']:.4f} | {r['ps_median']:+.4f} | {r['ps_sigma']:.4f} | "
              f"{r['train_minutes']:.1f} |")
    print(f"\nload average {os.getloadavg()[0]:.1f}; {P0.n_train} Sérsic training pairs, {len(val['inputs'])} "
          f"validation pairs, batch {P0.batch_size}, score = host + point-source total error above contrast "
          f"{P0.claim_contrast:g}")
    if a.json:
        from repro import provenance
        Path(a.json).write_text(json.dumps({"git": provenance.git_state(ROOT), "params": base, "settings": {r["setting"]: SETTINGS[r["setting"]] for r in rows},
                                            "rows": rows, "curves": curves}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
