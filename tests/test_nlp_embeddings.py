"""Word2vec on the task's abstracts, its cache, and the vocabulary and matrix (:mod:`repro.nlp.embeddings`)."""
import numpy as np
import pytest

from repro.nlp import embeddings as E
from repro.nlp import features as F
from repro.nlp import reader

from .conftest import needs_data
from .test_nlp_reader import GOOD, write

SENTENCES = [["we", "use", "models", "for", "parsing"], ["models", "improve", "parsing", "accuracy"]] * 5


def test_corpus_counts_each_abstract_once(tmp_path):
    docs = reader.read_abstracts(write(tmp_path, GOOD))
    splits = {("a", "1"): reader.Split("a", docs, []), ("b", "1"): reader.Split("b", docs, [])}
    assert E.corpus(splits) == [s for d in docs.values() for s in F.sentences(d)]


def test_cached_word2vec_and_vocabulary(tmp_path):
    wv, path, cached = E.cached_word2vec(tmp_path, SENTENCES, dim=6, epochs=2, min_count=1, seed=3)
    assert not cached and path.exists() and path.parent == tmp_path
    wv2, path2, cached2 = E.cached_word2vec(tmp_path, SENTENCES, dim=6, epochs=2, min_count=1, seed=3)
    assert cached2 and path2 == path and np.array_equal(wv2.vectors, wv.vectors)
    vocab, mat = E.vocabulary_and_matrix(wv, seed=0)
    assert [vocab[w] for w in ("<pad>", "<unk>", *F.MARKERS)] == [0, 1, 2, 3, 4, 5]
    assert mat.shape == (len(vocab), 6) and not mat[0].any()
    np.testing.assert_array_equal(mat[vocab["parsing"]], wv["parsing"])
    assert E.nearest(wv, "parsing", 2) and E.nearest(wv, "unknown-word") == []
    with pytest.raises(ValueError, match="no sentences"):
        E.train_word2vec([])


def test_text_sentences_follow_the_task_tokenizer():
    assert F.text_sentences("We parse 12 trees. The Parser-2 works? yes. ok") == [
        ["we", "parse", "00", "trees", "."], ["the", "parser-0", "works", "?", "yes", ".", "ok"]]
    assert F.text_sentences("   ") == []


def test_progress_and_vocabulary_restriction(tmp_path):
    wv, path, _ = E.cached_word2vec(tmp_path, SENTENCES, dim=6, epochs=2, min_count=1, seed=3, progress="w2v")
    wv2, path2, cached = E.cached_word2vec(tmp_path, SENTENCES, dim=6, epochs=2, min_count=1, seed=3)
    assert cached and path2 == path  # the progress bar is not part of the cache key
    vocab, mat = E.vocabulary_and_matrix(wv, seed=0, keep={"parsing", "models", "absent"})
    assert set(vocab) == {"<pad>", "<unk>", *F.MARKERS, "parsing", "models"}
    np.testing.assert_array_equal(mat[vocab["models"]], wv["models"])
    full_vocab, full_mat = E.vocabulary_and_matrix(wv, seed=0)
    np.testing.assert_array_equal(mat[:6], full_mat[:6])  # the same random rows either way
    with pytest.raises(ValueError, match="epochs"):
        E.train_word2vec(SENTENCES, epochs=0)


def test_one_worker_is_deterministic_across_hash_seeds(tmp_path):
    import subprocess
    import sys
    code = ("import sys, numpy as np; from repro.nlp import embeddings as E; "
            "s = [['we', 'use', 'models', 'for', 'parsing'], ['models', 'improve', 'parsing', 'accuracy']] * 5; "
            "wv = E.train_word2vec(s, dim=8, epochs=3, min_count=1, seed=5); "
            "np.save(sys.argv[1], np.stack([wv[w] for w in sorted(wv.key_to_index)]))")
    import os
    out = []
    for h in ("1", "2"):
        f = tmp_path / f"v{h}.npy"
        env = {**os.environ, "PYTHONHASHSEED": h}
        subprocess.run([sys.executable, "-c", code, str(f)], check=True, env=env)
        out.append(np.load(f))
    np.testing.assert_array_equal(out[0], out[1])


def test_build_corpus_kinds(tmp_path, monkeypatch):
    docs = reader.read_abstracts(write(tmp_path, GOOD))
    splits = {("train", "1.1"): reader.Split("train", docs, []), ("test", "1.1"): reader.Split("test", {}, [])}
    monkeypatch.setattr(E, "acl_abstracts", lambda max_year, fraction, seed: ["An ACL text. It has two sentences."])
    task, info = E.build_corpus("task", splits)
    assert task == E.corpus(splits) and info["acl_abstracts"] == 0 and info["max_year"] is None
    both, info = E.build_corpus("both", splits, max_year=2017)
    assert both == task + [["an", "acl", "text", "."], ["it", "has", "two", "sentences", "."]]
    assert (info["acl_abstracts"], info["acl_tokens"], info["max_year"]) == (1, 9, 2017)
    acl, info = E.build_corpus("acl", splits)
    assert len(acl) == 2 and info["task_tokens"] == 0 and info["test_text"] is False
    with pytest.raises(ValueError, match="unknown corpus"):
        E.build_corpus("wiki", splits)


@needs_data
def test_acl_abstracts_by_year_and_fraction():
    old = E.acl_abstracts(max_year=1970)
    assert 0 < len(old) < 100 and all(isinstance(t, str) and t for t in old)
    sub = E.acl_abstracts(max_year=2017, fraction=0.01, seed=1)
    assert sub == E.acl_abstracts(max_year=2017, fraction=0.01, seed=1)
    assert 50 < len(sub) < 150
    with pytest.raises(ValueError, match="fraction"):
        E.acl_abstracts(fraction=0)
