"""Driver of the ``semeval`` chain: CNN + RNN ensembles for relation classification and
extraction, SemEval-2018 Task 7 (Rotsztejn, Hollenstein & Zhang 2018, arXiv:1804.02042).

:func:`setup` reads the chain's parameters and returns what its notebooks share: the task's
splits (read when first used), the embeddings written by ``02_embeddings`` (the main ones and
those of the ablations, read when first used), the training settings of the classification
and extraction members, the weights that combine a CNN with an RNN, the named seeds, and the
thread settings (applied). The rest are the chain's tables: the data statistics (``01_data``),
the per-seed, ensemble and ablation tables and the ensemble-size curve (``05_results``) and the
cited 2018 participants. The computing is :mod:`repro.nlp`.

Threads: the ``threads`` parameter is gensim's word2vec ``workers`` (``02_embeddings``; one
worker gives the same vectors for the same seed) and TensorFlow's intra- and inter-op pools in
the notebooks that train (``03_train_classify``, ``04_extract``); the other notebooks do not
import TensorFlow.

Example
-------
>>> from repro import params
>>> from repro.papers import semeval as paper
>>> S = paper.setup(params.load("semeval", "smoke"))   # doctest: +SKIP
>>> S.seeds.members, S.seeds.ablation, S.seeds.train_12   # doctest: +SKIP
((0, 1), (0,), 1)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..nlp import classify, features as F, models, reader
from ..nlp.ensemble import MemberRuns, TrainConfig, ensemble_probs, member_probs

__all__ = ["TRAINING_NOTEBOOKS", "Seeds", "Setup", "setup", "statistics", "per_seed_table", "ensemble_table",
           "ablation_effects", "ablation_table", "ensemble_curve", "PARTICIPANTS", "place_among"]

#: the notebooks that train TensorFlow models (setup applies TensorFlow's threads there)
TRAINING_NOTEBOOKS = ("03_train_classify", "04_extract")


@dataclass(frozen=True)
class Seeds:
    """The chain's named seeds (all derived from the parameter ``seed`` as the record was made).

    Attributes
    ----------
    word2vec : int
        ``02_embeddings``: gensim's word2vec.
    embedding_init : int
        ``02_embeddings``: the random rows of the unknown word and the entity markers.
    train_11, train_12 : int
        ``03_train_classify``: the subsample of the 1.1 and of the 1.2 training abstracts.
    members : tuple of int
        ``03_train_classify``: one per classification ensemble member (a CNN and an RNN each;
        :func:`repro.nlp.ensemble.fit_predict` derives the member's draws from it).
    ablation : tuple of int
        ``03_train_classify``: the members trained again for each ablation (the first ones).
    extract_train : int
        ``04_extract``: the subsample of the 1.1 training abstracts.
    heldout : int
        ``04_extract``: the abstracts held out to choose the extraction threshold.
    extract_members : tuple of int
        ``04_extract``: one per relation / no-relation member pair.
    """

    word2vec: int
    embedding_init: int
    train_11: int
    train_12: int
    members: tuple[int, ...]
    ablation: tuple[int, ...]
    extract_train: int
    heldout: int
    extract_members: tuple[int, ...]


@dataclass(frozen=True)
class Setup:
    """What the notebooks of the chain share (:func:`setup`).

    Attributes
    ----------
    params : repro.params.Params
        The run's parameters.
    run : repro.chains.RunContext or None
        The notebook's run (needed for :attr:`vocab` and :attr:`matrix`).
    seeds : Seeds
        Named seeds.
    threads : int
        gensim workers and TensorFlow threads.
    """

    params: Any
    run: Any
    seeds: Seeds
    threads: int

    @cached_property
    def splits(self) -> dict[tuple[str, str], reader.Split]:
        """Every part of the data set by ``(part, subtask)`` (read on first use)."""
        return reader.load_all()

    @cached_property
    def _embeddings(self) -> tuple[dict[str, int], np.ndarray]:
        return self.embeddings_of("main")

    @property
    def embedding_variants(self) -> dict[str, dict]:
        """The embeddings ``02_embeddings`` trains, by name: ``main`` and the ablations.

        Each is a dict of the keyword arguments of :func:`repro.nlp.embeddings.build_corpus`
        (``kind``, ``test_text``, ``max_year``, ``acl_fraction``) plus ``epochs`` and ``file``
        (the run's file). ``embeddings`` is the other corpus of the in-domain ablation: the task's
        abstracts alone when ``main`` has the ACL abstracts, else both; ``all_years`` (with
        ``w2v_ablation_all_years`` and ACL text in ``main``) admits the ACL abstracts of every year.
        """
        P = self.params

        def variant(kind, max_year, file):
            return {"kind": kind, "test_text": bool(P.w2v_test_text), "max_year": max_year,
                    "acl_fraction": float(P.acl_fraction),
                    "epochs": int(P.w2v_epochs if kind == "task" else P.w2v_epochs_acl), "file": file}

        out = {"main": variant(P.w2v_corpus, int(P.w2v_max_year), "embeddings.npz"),
               "embeddings": variant("task" if P.w2v_corpus != "task" else "both", int(P.w2v_max_year),
                                     "embeddings-embeddings.npz")}
        if P.w2v_ablation_all_years and P.w2v_corpus != "task":
            out["all_years"] = variant(P.w2v_corpus, None, "embeddings-all_years.npz")
        return out

    def embeddings_of(self, name: str) -> tuple[dict[str, int], np.ndarray]:
        """The word ids and matrix of one of :attr:`embedding_variants`, written by ``02_embeddings``.

        Parameters
        ----------
        name : str
            ``main`` or an ablation's name.

        Returns
        -------
        vocab : dict of str to int
        matrix : ndarray

        Raises
        ------
        ValueError
            No run, or an unknown name.
        """
        if self.run is None:
            raise ValueError("the embeddings are a result of 02_embeddings: call setup(params, run)")
        variants = self.embedding_variants
        if name not in variants:
            raise ValueError(f"unknown embeddings {name!r}; this run has {', '.join(variants)}")
        emb = self.run.load_arrays(variants[name]["file"])
        return {w: i for i, w in enumerate(emb["words"].tolist())}, emb["matrix"]

    @property
    def vocab(self) -> dict[str, int]:
        """Word ids of the embeddings written by ``02_embeddings`` (read on first use)."""
        return self._embeddings[0]

    @property
    def matrix(self) -> np.ndarray:
        """The embedding matrix written by ``02_embeddings`` (read on first use)."""
        return self._embeddings[1]

    @property
    def n_positions(self) -> int:
        """Size of the position vocabulary for ``max_len``."""
        return F.n_positions(self.params.max_len)

    @property
    def weights(self) -> dict[str, Any]:
        """Keyword arguments of :func:`repro.nlp.ensemble.combine` (CNN + RNN by span length)."""
        P = self.params
        return dict(rnn_weight_short=P.rnn_weight_short, rnn_weight_long=P.rnn_weight_long, long_span=P.long_span)

    @property
    def train_config(self) -> TrainConfig:
        """Settings of the classification members (``03_train_classify``)."""
        P = self.params
        return TrainConfig(epochs=P.epochs, batch_size=P.batch_size, lr=P.lr, dropout=P.dropout,
                           filters=P.cnn_filters, kernel_sizes=tuple(P.kernel_sizes), units=P.rnn_units,
                           cell=P.rnn_cell, pos_dim=P.pos_dim, class_weights=P.class_weights,
                           upsample_to=P.upsample_to)

    @property
    def extract_config(self) -> TrainConfig:
        """Settings of the relation / no-relation members (``04_extract``): no upsampling."""
        P = self.params
        return TrainConfig(epochs=P.extract_epochs, batch_size=P.batch_size, lr=P.lr, dropout=P.dropout,
                           filters=P.cnn_filters, kernel_sizes=tuple(P.kernel_sizes), units=P.rnn_units,
                           cell=P.rnn_cell, pos_dim=P.pos_dim, class_weights=P.class_weights, upsample_to=0.0)


def setup(params, run=None) -> Setup:
    """The chain's shared setup: seeds and threads now, data and embeddings on first use.

    Parameters
    ----------
    params : repro.params.Params
        The run's parameters (``run.params``).
    run : repro.chains.RunContext, optional
        The notebook's run. TensorFlow's threads are set when ``run`` is one of
        :data:`TRAINING_NOTEBOOKS`, or when there is no run (scripts, benchmarks).

    Returns
    -------
    Setup
    """
    s = int(params.seed)
    members = tuple(range(s, s + params.ensemble_size))
    seeds = Seeds(word2vec=s, embedding_init=s,
                  train_11=s, train_12=s + 1,  # the 1.2 subsample is drawn with seed + 1, as the record was made
                  members=members, ablation=members[:min(params.ablation_seeds, len(members))],
                  extract_train=s, heldout=s,
                  extract_members=tuple(range(s, s + params.extract_ensemble_size)))
    threads = int(params.threads)
    if run is None or getattr(run, "notebook", "") in TRAINING_NOTEBOOKS:
        models.configure(threads)
    return Setup(params=params, run=run, seeds=seeds, threads=threads)


# ------------------------------------------------------------------------------- tables
def statistics(splits) -> pd.DataFrame:
    """One row per split: abstracts, entities, relations, REVERSE share, relation-type counts.

    Parameters
    ----------
    splits : dict of (str, str) to repro.nlp.reader.Split

    Returns
    -------
    pandas.DataFrame
        Indexed by ``"<part> <subtask>"``.
    """
    rows = []
    for (part, sub), s in splits.items():
        row = {"split": f"{part} {sub}", "abstracts": len(s.docs),
               "entities": sum(len(d.entities) for d in s.docs.values()),
               "relations": len(s.relations),
               "reverse_share": float(np.mean([r.reverse for r in s.relations]))}
        for t in reader.RELATION_TYPES:
            row[t] = sum(r.label == t for r in s.relations)
        rows.append(row)
    return pd.DataFrame(rows).set_index("split")


def per_seed_table(runs: MemberRuns, key, test: int, length, weights, seeds=None) -> pd.DataFrame:
    """Macro-F1 of every seed's CNN, RNN and CNN+RNN on one test set.

    Parameters
    ----------
    runs : repro.nlp.ensemble.MemberRuns
    key : list of repro.nlp.reader.Relation
        The test set's key.
    test : int
        Index of the test set in ``runs``.
    length : ndarray
        Span lengths of the test set.
    weights : dict
        Keyword arguments of :func:`repro.nlp.ensemble.combine`.
    seeds : list of int, optional
        Default: every seed of the CNNs.

    Returns
    -------
    pandas.DataFrame
        Indexed by seed; columns ``cnn``, ``rnn``, ``cnn+rnn``.
    """
    seeds = runs.seeds("cnn") if seeds is None else seeds
    rows = []
    for s in seeds:
        rows.append({"seed": s, **{w: classify.macro_f1(key, member_probs(runs, s, test, w, length, **weights))
                                   for w in ("cnn", "rnn", "cnn+rnn")}})
    return pd.DataFrame(rows).set_index("seed")


def ensemble_table(runs: MemberRuns, key, test: int, length, weights, seeds=None) -> dict:
    """Macro-F1 of the ensembles of CNNs, of RNNs and of CNN+RNN combinations over ``seeds``.

    Parameters
    ----------
    runs, key, test, length, weights, seeds
        As in :func:`per_seed_table`.

    Returns
    -------
    dict
        ``{"cnn": f1, "rnn": f1, "cnn+rnn": f1}``.
    """
    seeds = runs.seeds("cnn") if seeds is None else seeds
    return {w: classify.macro_f1(key, ensemble_probs(runs, seeds, test, w, length, **weights))
            for w in ("cnn", "rnn", "cnn+rnn")}


def ablation_effects(main: MemberRuns, ablated: dict[str, MemberRuns], key, test_main: int, test_ablated: int,
                     length, weights, seeds) -> pd.DataFrame:
    """Per seed, macro-F1 of the full setting minus that of each ablated setting (CNN+RNN).

    Parameters
    ----------
    main : repro.nlp.ensemble.MemberRuns
        The full setting.
    ablated : dict of str to repro.nlp.ensemble.MemberRuns
        Each ablated setting by name.
    key : list of repro.nlp.reader.Relation
    test_main, test_ablated : int
        Index of the test set in ``main`` and in the ablated runs.
    length : ndarray
        Span lengths of the test set.
    weights : dict
        Keyword arguments of :func:`repro.nlp.ensemble.combine`.
    seeds : list of int

    Returns
    -------
    pandas.DataFrame
        Columns ``ablation``, ``seed``, ``full``, ``ablated``, ``gain``.
    """
    rows = []
    for name, runs in ablated.items():
        for s in seeds:
            full = classify.macro_f1(key, member_probs(main, s, test_main, "cnn+rnn", length, **weights))
            abl = classify.macro_f1(key, member_probs(runs, s, test_ablated, "cnn+rnn", length, **weights))
            rows.append({"ablation": name, "seed": s, "full": full, "ablated": abl, "gain": full - abl})
    return pd.DataFrame(rows)


def ablation_table(main: MemberRuns, ablated: dict[str, MemberRuns], key, length, weights, seeds, ablation_seeds,
                   pair_augmentation: bool, flipped=()) -> pd.DataFrame:
    """Every gain the paper reports, per seed, on test set 0 (test 1.1).

    The ablations of :func:`ablation_effects` (full minus ablated setting, CNN+RNN of one seed),
    then ``ensemble`` (the ensemble of all ``seeds`` minus each seed's CNN+RNN) and
    ``cnn+rnn vs cnn`` / ``cnn+rnn vs rnn`` (the combination minus one of its members). When the
    chain ran without entity-pair augmentation, its ``augmentation`` ablation is the run *with*
    it, so full and ablated are exchanged and the gain is "with minus without" either way.

    Parameters
    ----------
    main : repro.nlp.ensemble.MemberRuns
    ablated : dict of str to repro.nlp.ensemble.MemberRuns
    key : list of repro.nlp.reader.Relation
        The key of test 1.1.
    length : ndarray
        Its span lengths.
    weights : dict
        Keyword arguments of :func:`repro.nlp.ensemble.combine`.
    seeds, ablation_seeds : list of int
        The ensemble's seeds and those of the ablations.
    pair_augmentation : bool
        The main setting's augmentation.
    flipped : collection of str
        Further ablations whose run is the setting *with* the ingredient (exchanged like the
        augmentation's; e.g. ``embeddings`` when the main embeddings are the task-only ones).

    Returns
    -------
    pandas.DataFrame
        Columns ``ablation``, ``seed``, ``full``, ``ablated``, ``gain``.
    """
    effects = ablation_effects(main, ablated, key, 0, 0, length, weights, ablation_seeds)
    per_seed = per_seed_table(main, key, 0, length, weights)
    ens_f1 = ensemble_table(main, key, 0, length, weights)["cnn+rnn"]
    extra = ([{"ablation": "ensemble", "seed": s, "full": ens_f1, "ablated": per_seed.loc[s, "cnn+rnn"],
               "gain": ens_f1 - per_seed.loc[s, "cnn+rnn"]} for s in seeds]
             + [{"ablation": f"cnn+rnn vs {k}", "seed": s, "full": per_seed.loc[s, "cnn+rnn"],
                 "ablated": per_seed.loc[s, k], "gain": per_seed.loc[s, "cnn+rnn"] - per_seed.loc[s, k]}
                for k in ("cnn", "rnn") for s in seeds])
    effects = pd.concat([effects, pd.DataFrame(extra)], ignore_index=True)
    flip = set(flipped) | (set() if pair_augmentation else {"augmentation"})
    for name in flip:  # the chain ran without the ingredient: its "ablation" is the run with it
        sel = effects.ablation == name
        effects.loc[sel, ["full", "ablated"]] = effects.loc[sel, ["ablated", "full"]].to_numpy()
        effects.loc[sel, "gain"] = -effects.loc[sel, "gain"]
    return effects


def ensemble_curve(runs: MemberRuns, key, test: int, length, weights, seeds, orders: int = 20,
                   seed: int = 0) -> pd.DataFrame:
    """Macro-F1 of CNN+RNN ensembles against their number of seeds, over random orders of the seeds.

    For each of ``orders`` random orders of ``seeds``, the ensembles of its first 1, 2, ...
    seeds are scored; the first order is ``seeds`` as given.

    Parameters
    ----------
    runs, key, test, length, weights
        As in :func:`per_seed_table`.
    seeds : list of int
        The seeds to draw ensembles from.
    orders : int
        Random orders drawn (at least 1).
    seed : int
        Seed of the orders.

    Returns
    -------
    pandas.DataFrame
        Indexed by the number of seeds; columns ``mean``, ``min``, ``max`` (over orders) and
        ``orders`` (distinct ensembles scored).

    Raises
    ------
    ValueError
        No seeds or ``orders`` below 1.
    """
    seeds = list(seeds)
    if not seeds or orders < 1:
        raise ValueError(f"need at least one seed and one order, got {len(seeds)} seeds and {orders} orders")
    rng = np.random.default_rng(seed)
    perms = [seeds] + [list(rng.permutation(seeds)) for _ in range(orders - 1)]
    memo: dict[tuple, float] = {}
    rows = []
    for k in range(1, len(seeds) + 1):
        vals = []
        for perm in perms:
            sub = tuple(sorted(int(x) for x in perm[:k]))
            if sub not in memo:
                memo[sub] = classify.macro_f1(key, ensemble_probs(runs, list(sub), test, "cnn+rnn", length, **weights))
            vals.append(memo[sub])
        rows.append({"members": k, "mean": float(np.mean(vals)), "min": float(np.min(vals)),
                     "max": float(np.max(vals)), "orders": len({tuple(sorted(p[:k])) for p in perms})})
    return pd.DataFrame(rows).set_index("members")


# ------------------------------------------------------------------------------- the 2018 participants
#: published 2018 test-set scores we can cite (official metric, percent); None = not reported there.
#: ETH-DS3Lab: the paper itself. ClaiRE: Hettinger et al. (2018), SemEval, abstract.
#: TakeLab: Gluhak et al. (2018), SemEval, abstract (their SVM; "ranked 7th among 28 submissions on
#: subtask 1.1 and 7th among 20 submissions on subtask 1.2").
PARTICIPANTS = pd.DataFrame(
    [("ETH-DS3Lab (Rotsztejn et al., this paper)", 81.7, 90.4, 48.8, 49.3, "1st in 1.1, 1.2 and 2-C; 2nd in 2-E"),
     ("ClaiRE (Hettinger et al.)", 74.89, 78.39, None, None, ""),
     ("TakeLab (Gluhak et al.)", 69.98, 75.69, None, None, "7th of 28 (1.1), 7th of 20 (1.2)")],
    columns=["system", "1.1", "1.2", "2_extraction", "2_classification", "published rank"]).set_index("system")


def place_among(ours: float, column: str, table: pd.DataFrame = PARTICIPANTS) -> str:
    """Where ``ours`` falls among the cited scores of ``column``, in words.

    Parameters
    ----------
    ours : float
        Our score (percent).
    column : {"1.1", "1.2", "2_extraction", "2_classification"}
    table : pandas.DataFrame
        The cited scores (default :data:`PARTICIPANTS`).

    Returns
    -------
    str
        E.g. ``"between ClaiRE (Hettinger et al.) (74.9) and TakeLab (Gluhak et al.) (70.0)"``.
    """
    col = table[column].dropna().sort_values(ascending=False)
    above = [f"{n} ({v:.1f})" for n, v in col.items() if v > ours]
    below = [f"{n} ({v:.1f})" for n, v in col.items() if v <= ours]
    if not above:
        return "above every cited system"
    if not below:
        return f"below every cited system (lowest cited: {below[-1] if below else above[-1]})"
    return f"between {above[-1]} and {below[0]}"
