"""The ``semeval`` chain's driver: named seeds, shared settings, the tables of the notebooks
(:mod:`repro.papers.semeval`)."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from repro import params
from repro.nlp import ensemble as ens, extract
from repro.nlp.reader import Document, Entity, Relation, Split
from repro.papers import semeval as paper


@pytest.fixture
def S():
    # a notebook that does not train: setup leaves TensorFlow alone
    return paper.setup(params.load("semeval", "smoke"), SimpleNamespace(notebook="05_results"))


def test_seeds_keep_the_values_of_the_record(S):
    P = S.params
    assert S.seeds.members == tuple(range(P.seed, P.seed + P.ensemble_size))
    assert S.seeds.ablation == S.seeds.members[:P.ablation_seeds]
    assert (S.seeds.train_11, S.seeds.train_12) == (P.seed, P.seed + 1)
    assert S.seeds.word2vec == S.seeds.embedding_init == S.seeds.extract_train == S.seeds.heldout == P.seed
    assert S.seeds.extract_members == tuple(range(P.seed, P.seed + P.extract_ensemble_size))
    assert S.threads == P.threads


def test_shared_settings(S):
    P = S.params
    assert S.train_config.epochs == P.epochs and S.train_config.upsample_to == P.upsample_to
    assert S.extract_config.epochs == P.extract_epochs and S.extract_config.upsample_to == 0.0
    assert S.weights == {"rnn_weight_short": P.rnn_weight_short, "rnn_weight_long": P.rnn_weight_long,
                         "long_span": P.long_span}
    assert S.n_positions == 2 * P.max_len + 2
    with pytest.raises(ValueError, match="02_embeddings"):
        paper.Setup(params=P, run=None, seeds=S.seeds, threads=1).vocab


def test_threads_are_applied_where_tensorflow_trains(monkeypatch):
    calls = []
    monkeypatch.setattr(paper.models, "configure", calls.append)
    P = params.load("semeval", "smoke", {"threads": 3})
    for nb in ("01_data", "02_embeddings", "03_train_classify", "04_extract", "05_results"):
        paper.setup(P, SimpleNamespace(notebook=nb))
    paper.setup(P)  # scripts and benchmarks
    assert calls == [3, 3, 3]


def test_statistics_counts_types_and_reverse_share():
    doc = Document("A-1", "x y", {"A-1.1": Entity("A-1.1", "x", 0, 1), "A-1.2": Entity("A-1.2", "y", 2, 3)})
    split = Split("toy", {"A-1": doc}, [Relation("USAGE", "A-1.1", "A-1.2", True),
                                        Relation("TOPIC", "A-1.1", "A-1.2", False)])
    t = paper.statistics({("train", "1.1"): split})
    row = t.loc["train 1.1"]
    assert (row.abstracts, row.entities, row.relations, row.reverse_share) == (1, 2, 2, 0.5)
    assert (row.USAGE, row.TOPIC, row.COMPARE) == (1, 1, 0)


def _runs(correct: dict[tuple[str, int], bool], key) -> ens.MemberRuns:
    """Members that put all their probability on the key's label (True) or on another one (False)."""
    r = ens.MemberRuns()
    for (kind, seed), ok in correct.items():
        p = np.zeros((len(key), len(extract.DIRECTIONAL_LABELS)))
        for i, rel in enumerate(key):
            lab = extract.directional_label(rel) if ok else "TOPIC"
            p[i, extract.DIRECTIONAL_LABELS.index(lab)] = 1.0
        r.add(kind, seed, [p])
    return r


def test_tables_and_ablations():
    key = [Relation("USAGE", "A-1.1", "A-1.2"), Relation("RESULT", "A-1.3", "A-1.4")]
    length = np.array([3, 3])
    w = {"rnn_weight_short": 0.4, "rnn_weight_long": 0.4, "long_span": 15}  # CNN+RNN follows the CNN
    main = _runs({("cnn", 0): True, ("rnn", 0): False, ("cnn", 1): True, ("rnn", 1): True}, key)
    table = paper.per_seed_table(main, key, 0, length, w)
    assert table.loc[0].tolist() == [100.0, 0.0, 100.0] and table.loc[1].tolist() == [100.0, 100.0, 100.0]
    assert paper.ensemble_table(main, key, 0, length, w) == {"cnn": 100.0, "rnn": 100.0, "cnn+rnn": 100.0}
    worse = _runs({("cnn", 0): False, ("rnn", 0): False}, key)
    effects = paper.ablation_table(main, {"merged": worse, "augmentation": worse}, key, length, w, [0, 1], [0],
                                   pair_augmentation=False)
    gains = effects.groupby("ablation", sort=False)["gain"].mean()
    assert gains["merged"] == 100.0 and gains["augmentation"] == -100.0   # the run without: with minus without
    assert gains["ensemble"] == 0.0 and gains["cnn+rnn vs rnn"] == 50.0
    assert set(effects.columns) == {"ablation", "seed", "full", "ablated", "gain"}


def test_place_among_cited_systems():
    assert paper.place_among(99.0, "1.1") == "above every cited system"
    assert "ClaiRE" in paper.place_among(72.0, "1.1") and "TakeLab" in paper.place_among(72.0, "1.1")
    assert paper.place_among(10.0, "1.1").startswith("below every")
    assert isinstance(paper.PARTICIPANTS, pd.DataFrame)


def test_flipped_ablation_and_ensemble_curve():
    key = [Relation("USAGE", "A-1.1", "A-1.2"), Relation("RESULT", "A-1.3", "A-1.4")]
    length = np.array([3, 3])
    w = {"rnn_weight_short": 0.4, "rnn_weight_long": 0.4, "long_span": 15}  # CNN+RNN follows the CNN
    main = _runs({("cnn", 0): True, ("rnn", 0): True, ("cnn", 1): False, ("rnn", 1): False,
                  ("cnn", 2): True, ("rnn", 2): True}, key)
    worse = _runs({("cnn", 0): False, ("rnn", 0): False}, key)
    effects = paper.ablation_table(main, {"embeddings": worse}, key, length, w, [0, 1, 2], [0],
                                   pair_augmentation=True, flipped={"embeddings"})
    assert effects.loc[effects.ablation == "embeddings", "gain"].tolist() == [-100.0]
    curve = paper.ensemble_curve(main, key, 0, length, w, [0, 1, 2], orders=6, seed=1)
    assert curve.index.tolist() == [1, 2, 3]
    # three seeds, the whole ensemble is one: seeds 0 and 2 are right, seed 1 wrong; the mean of 3 is right
    assert curve.loc[3, "mean"] == curve.loc[3, "min"] == 100.0 and curve.loc[3, "orders"] == 1
    # the first order is the seeds as given: its single member is seed 0
    assert curve.loc[1, "max"] == 100.0 and curve.loc[1, "min"] == 0.0
    with pytest.raises(ValueError, match="at least one seed"):
        paper.ensemble_curve(main, key, 0, length, w, [], orders=2)


def test_embedding_variants():
    S = paper.setup(params.load("semeval", "smoke"), SimpleNamespace(notebook="05_results"))
    v = S.embedding_variants
    assert list(v) == ["main", "embeddings", "all_years"]
    assert v["main"]["kind"] == "both" and v["main"]["file"] == "embeddings.npz"
    assert v["embeddings"]["kind"] == "task" and v["embeddings"]["epochs"] == S.params.w2v_epochs
    assert v["all_years"]["max_year"] is None and v["main"]["max_year"] == 2017
    P = params.load("semeval", "full", {"w2v_corpus": "task"})
    v = paper.setup(P, SimpleNamespace(notebook="05_results")).embedding_variants
    assert v["main"]["kind"] == "task" and v["embeddings"]["kind"] == "both" and "all_years" not in v
    assert v["main"]["epochs"] == P.w2v_epochs and v["embeddings"]["epochs"] == P.w2v_epochs_acl
    with pytest.raises(ValueError, match="unknown embeddings"):
        S.embeddings_of("nope")
