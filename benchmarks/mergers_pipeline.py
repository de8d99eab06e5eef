"""Benchmark of the mergers chain: the training input pipeline and statmorph throughput.

Prints (or with --json, writes one JSON object to stdout):

- training images/s of the full tf.data pipeline (balanced batch gather + augmentation) feeding
  the model, against the model alone on in-memory tensors (the same batches, no augmentation,
  no tf.data) — target: the pipeline costs < 20 %. The machine may be busy: the two are timed
  alternately, ``--repeats`` times each, and the fastest of each is compared (the least
  disturbed); the images are the chain's (central ``--crop`` of each cutout at ``--size`` px).
  The pipeline is timed as one ``fit`` call over ``--steps`` batches, as the chain trains (a
  phase of 60 to 660 steps is one call): ``fit`` and ``tf.data`` take a fixed start-up of a
  few tenths of a second per call, which a short call (``--steps 20``) mostly measures;
- statmorph galaxies/s on real r-band cutouts, serial against 2 processes.

Usage: python benchmarks/mergers_pipeline.py [--size 96] [--crop 0.35] [--steps 200] [--repeats 3] [--galaxies 24] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def bench_training(size: int, crop: float, steps: int, batch: int, threads: int, repeats: int) -> dict:
    import keras
    import tensorflow as tf
    from repro.astro import mergers as M
    M.configure_threads(threads)
    lab = M.load_labels()
    sample = M.select_sample(lab, 40, 120, seed=0)
    X = M.load_images(M.image_paths(sample), size, crop=crop)
    y = sample["is_merger"].to_numpy(int)
    model = M.build_model(size, "imagenet", seed=0)
    model.compile(keras.optimizers.SGD(1e-3, momentum=0.9), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    batches = M.balanced_batches(y, batch, steps + 3, rng)
    aug = {"zoom": 0.1, "shift": 0.05}

    # warm-up: trace both the train_on_batch and the fit functions once
    xs = [tf.constant(X[b].astype(np.float32)) for b in batches]
    ys = [tf.constant(y[b].astype(np.int32)) for b in batches]
    for k in range(3):
        model.train_on_batch(xs[k], ys[k])
    model.fit(M.make_dataset(X, y, batches[:3], 0, aug), epochs=1, verbose=0, shuffle=False)

    t_model, t_pipe = [], []
    for r in range(repeats):
        # model alone: the same batches as in-memory float tensors, one train_on_batch per step
        t = time.perf_counter()
        for k in range(3, steps + 3):
            model.train_on_batch(xs[k], ys[k])
        t_model.append(time.perf_counter() - t)
        # pipeline + model: tf.data gather + augmentation feeding fit
        ds = M.make_dataset(X, y, batches[3:], 1 + r, aug)
        t = time.perf_counter()
        model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        t_pipe.append(time.perf_counter() - t)

    # the augmentation alone (for reference)
    t = time.perf_counter()
    for k, b in enumerate(batches[3:]):
        M.augment_batch(X[b].astype(np.float32), [2, k]).numpy()
    t_aug = time.perf_counter() - t
    n = steps * batch
    return {"image_size": size, "crop": crop, "batch_size": batch, "steps": steps, "repeats": repeats,
            "model_alone_img_s": n / min(t_model), "pipeline_plus_model_img_s": n / min(t_pipe),
            "augment_alone_img_s": n / t_aug, "pipeline_overhead": min(t_pipe) / min(t_model) - 1.0}


def bench_statmorph(n: int, factor: int, jobs: int) -> dict:
    from repro.astro import mergers as M
    from repro.astro.mergers import morphology as mo
    lab = M.load_labels()
    sample = M.select_sample(lab, n // 2, n - n // 2, seed=1)
    imgs = [mo.r_band(M.decode_jpeg(p), factor) for p in M.image_paths(sample)]
    t = time.perf_counter()
    a = mo.measure_many(imgs, n_jobs=1, progress=False)
    t_serial = time.perf_counter() - t
    t = time.perf_counter()
    b = mo.measure_many(imgs, n_jobs=jobs, chunk=max(1, n // (4 * jobs)), progress=False)
    t_par = time.perf_counter() - t
    same = bool(np.allclose(a["gini"].to_numpy(), b["gini"].to_numpy(), equal_nan=True))
    return {"galaxies": n, "side_px": imgs[0].shape[0], "serial_gal_s": n / t_serial,
            "parallel_gal_s": n / t_par, "processes": jobs, "speedup": t_serial / t_par,
            "parallel_equals_serial": same}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--crop", type=float, default=0.35, help="central share of each cutout (the chain's full profile)")
    ap.add_argument("--steps", type=int, default=200, help="batches per timed run (one fit call for the pipeline)")
    ap.add_argument("--repeats", type=int, default=3, help="alternate timings of each (the fastest is compared)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--galaxies", type=int, default=24)
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res = {"training": bench_training(a.size, a.crop, a.steps, a.batch, a.threads, a.repeats),
           "statmorph": bench_statmorph(a.galaxies, a.factor, a.threads)}
    if a.json:
        print(json.dumps(res))
        return 0
    t, s = res["training"], res["statmorph"]
    print(f"training, MobileNet v1 0.25 at {t['image_size']} px (central {t['crop']:g} of each cutout), "
          f"batch {t['batch_size']}, {t['steps']} steps, fastest of {t['repeats']}")
    print(f"  {'model alone (in-memory tensors)':<40} {t['model_alone_img_s']:9.1f} img/s")
    print(f"  {'tf.data pipeline + model':<40} {t['pipeline_plus_model_img_s']:9.1f} img/s")
    print(f"  {'augmentation alone':<40} {t['augment_alone_img_s']:9.1f} img/s")
    print(f"  pipeline overhead: {100 * t['pipeline_overhead']:+.1f} % (target < 20 %)")
    print(f"statmorph, {s['galaxies']} real cutouts at {s['side_px']} px")
    print(f"  {'serial':<40} {s['serial_gal_s']:9.2f} galaxies/s")
    label = f"{s['processes']} processes"
    print(f"  {label:<40} "
          f"{s['parallel_gal_s']:9.2f} galaxies/s")
    print(f"  speedup: {s['speedup']:.2f}x, same results: {s['parallel_equals_serial']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
