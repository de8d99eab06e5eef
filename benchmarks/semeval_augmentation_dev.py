"""Entity-pair augmentation on and off, judged on held-out *training* abstracts (never the test set).

Holds out a share of the 1.1 training abstracts, trains CNN and RNN members on the rest of 1.1
plus all of 1.2 with the full profile's settings, with augmentation (``epochs`` epochs) and
without (twice the epochs, so the same optimizer steps), and prints the macro-F1 of each seed's
CNN+RNN on the held-out 1.1 relations. Used to decide whether the full profile turns the
augmentation on. Needs the full profile's embeddings (run ``02_embeddings`` of the full profile
first). About 10 minutes on one CPU thread with 3 seeds.

    REPRO_DATA=... python benchmarks/semeval_augmentation_dev.py [--seeds 3] [--heldout 0.2] [--out FILE]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from repro import params
from repro.nlp import classify, ensemble as ens, extract, reader
from repro.papers import semeval as paper


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--heldout", type=float, default=0.2)
    ap.add_argument("--embeddings", default="results/semeval/full/embeddings.npz")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    P = params.load("semeval", "full")
    S = paper.setup(P)  # applies the threads
    tr11, tr12 = S.splits[("train", "1.1")], S.splits[("train", "1.2")]
    # its own split (seed 12345), not the one of 04_extract
    fit11, dev = reader.hold_out(tr11, a.heldout, 12345, at_least=0)
    emb = np.load(a.embeddings)
    vocab = {w: i for i, w in enumerate(emb["words"].tolist())}
    X_dev, _ = classify.encode_relations([dev], vocab, P.max_len)
    n_cls, n_pos = len(extract.DIRECTIONAL_LABELS), S.n_positions
    base, weights = S.train_config, S.weights
    seeds = list(range(P.seed, P.seed + a.seeds))  # the benchmark's own seed count
    rows = []
    t0 = time.perf_counter()
    for aug, epochs in ((True, P.epochs), (False, 2 * P.epochs)):
        Xt, yt = classify.encode_relations([fit11, tr12], vocab, P.max_len, augment=aug)
        cfg = dataclasses.replace(base, epochs=epochs)
        runs = ens.train_members(["cnn", "rnn"], seeds, emb["matrix"], n_pos, n_cls, P.max_len, Xt, yt, [X_dev], cfg)
        for s in seeds:
            for what in ("cnn", "rnn", "cnn+rnn"):
                f1 = classify.macro_f1(dev.relations, ens.member_probs(runs, s, 0, what, X_dev.length, **weights))
                rows.append({"augmentation": aug, "epochs": epochs, "seed": s, "model": what, "macro_f1": f1})
                print(rows[-1], flush=True)
    res = {"heldout_abstracts": len(dev.docs), "heldout_relations": len(dev.relations), "rows": rows,
           "minutes": (time.perf_counter() - t0) / 60}
    on = [r["macro_f1"] for r in rows if r["augmentation"] and r["model"] == "cnn+rnn"]
    off = [r["macro_f1"] for r in rows if not r["augmentation"] and r["model"] == "cnn+rnn"]
    res["mean_gain_cnn_rnn"] = float(np.mean(np.array(on) - np.array(off)))
    print(f"held out {len(dev.docs)} abstracts / {len(dev.relations)} relations; CNN+RNN macro-F1 with augmentation "
          f"{np.round(on, 2)}, without {np.round(off, 2)}; mean gain {res['mean_gain_cnn_rnn']:+.2f} "
          f"({res['minutes']:.1f} min)")
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
