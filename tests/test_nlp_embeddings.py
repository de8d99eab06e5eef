"""Word2vec on the task's abstracts, its cache, and the vocabulary and matrix (:mod:`repro.nlp.embeddings`)."""
import numpy as np
import pytest

from repro.nlp import embeddings as E
from repro.nlp import features as F
from repro.nlp import reader

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
