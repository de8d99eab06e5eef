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
import json
import time
from pathlib import Path

import numpy as np

from repro import params
from repro.nlp import ensemble as ens
from repro.nlp import experiment as X
from repro.nlp import extract, features as F, models
from repro.nlp.reader import Split


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--heldout", type=float, default=0.2)
    ap.add_argument("--embeddings", default="results/semeval/full/embeddings.npz")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    P = params.load("semeval", "full")
    models.configure(P.threads)
    splits = X.load_all()
    tr11, tr12 = splits[("train", "1.1")], splits[("train", "1.2")]
    rng = np.random.default_rng(12345)  # its own split, not the one of 04_extract
    ids = sorted(tr11.docs)
    held = set(rng.choice(ids, int(round(a.heldout * len(ids))), replace=False))
    fit11 = Split("fit 1.1", {k: v for k, v in tr11.docs.items() if k not in held},
                  [r for r in tr11.relations if r.doc_id not in held])
    dev = Split("dev 1.1", {k: v for k, v in tr11.docs.items() if k in held},
                [r for r in tr11.relations if r.doc_id in held])
    emb = np.load(a.embeddings)
    vocab = {w: i for i, w in enumerate(emb["words"].tolist())}
    X_dev, _ = X.encode_relations([dev], vocab, P.max_len)
    n_cls, n_pos = len(extract.DIRECTIONAL_LABELS), F.n_positions(P.max_len)
    base = ens.TrainConfig(epochs=P.epochs, batch_size=P.batch_size, lr=P.lr, dropout=P.dropout,
                           filters=P.cnn_filters, kernel_sizes=tuple(P.kernel_sizes), units=P.rnn_units,
                           cell=P.rnn_cell, pos_dim=P.pos_dim, class_weights=P.class_weights,
                           upsample_to=P.upsample_to)
    weights = dict(rnn_weight_short=P.rnn_weight_short, rnn_weight_long=P.rnn_weight_long, long_span=P.long_span)
    seeds = list(range(P.seed, P.seed + a.seeds))
    rows = []
    t0 = time.perf_counter()
    for aug, epochs in ((True, P.epochs), (False, 2 * P.epochs)):
        Xt, yt = X.encode_relations([fit11, tr12], vocab, P.max_len, augment=aug)
        cfg = ens.TrainConfig(**{**base.__dict__, "epochs": epochs})
        runs = ens.train_members(["cnn", "rnn"], seeds, emb["matrix"], n_pos, n_cls, P.max_len, Xt, yt, [X_dev], cfg)
        for s in seeds:
            for what in ("cnn", "rnn", "cnn+rnn"):
                f1 = X.macro_f1(dev.relations, ens.member_probs(runs, s, 0, what, X_dev.length, **weights))
                rows.append({"augmentation": aug, "epochs": epochs, "seed": s, "model": what, "macro_f1": f1})
                print(rows[-1], flush=True)
    res = {"heldout_abstracts": len(held), "heldout_relations": len(dev.relations), "rows": rows,
           "minutes": (time.perf_counter() - t0) / 60}
    on = [r["macro_f1"] for r in rows if r["augmentation"] and r["model"] == "cnn+rnn"]
    off = [r["macro_f1"] for r in rows if not r["augmentation"] and r["model"] == "cnn+rnn"]
    res["mean_gain_cnn_rnn"] = float(np.mean(np.array(on) - np.array(off)))
    print(f"held out {len(held)} abstracts / {len(dev.relations)} relations; CNN+RNN macro-F1 with augmentation "
          f"{np.round(on, 2)}, without {np.round(off, 2)}; mean gain {res['mean_gain_cnn_rnn']:+.2f} "
          f"({res['minutes']:.1f} min)")
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
