"""Word embeddings (word2vec, gensim) trained on the task's own abstracts, cached in the run folder.

The paper used 200-d word2vec vectors trained on scientific text (ACL and arXiv papers). We
train the same kind of vectors on the text of every abstract of the task (training and test
abstracts, without any labels); the vectors are cached as ``w2v-<hash>.kv`` under the run
folder (never in the repository), keyed by the corpus and the training settings. With one
worker, gensim's word2vec gives the same vectors for the same seed.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .features import MARKERS, PAD, UNK, sentences as doc_sentences


def corpus(splits) -> list[list[str]]:
    """Tokenized sentences of every distinct abstract (training and test text, no labels).

    Parameters
    ----------
    splits : dict of (str, str) to repro.nlp.reader.Split
        E.g. :func:`repro.nlp.reader.load_all`; an abstract in several splits counts once.

    Returns
    -------
    list of list of str
    """
    seen, out = set(), []
    for s in splits.values():
        for d in s.docs.values():
            if d.id not in seen:
                seen.add(d.id)
                out += doc_sentences(d)
    return out


def corpus_digest(sentences) -> str:
    """A short hash of a tokenized corpus (the cache key of its vectors).

    Parameters
    ----------
    sentences : iterable of list of str

    Returns
    -------
    str
        16 hex digits.
    """
    h = hashlib.sha256()
    for s in sentences:
        h.update(("\x1f".join(s) + "\x1e").encode())
    return h.hexdigest()[:16]


def train_word2vec(sentences, *, dim: int = 200, window: int = 5, min_count: int = 2, epochs: int = 20,
                   sg: bool = True, seed: int = 0, workers: int = 1):
    """Train word2vec (gensim) on ``sentences``.

    Parameters
    ----------
    sentences : iterable of list of str
    dim : int
        Vector size.
    window, min_count, epochs : int
        gensim's settings.
    sg : bool
        Skip-gram (else CBOW).
    seed : int
        gensim's seed.
    workers : int
        Training threads (one worker: the same vectors for the same seed).

    Returns
    -------
    gensim.models.KeyedVectors

    Raises
    ------
    ValueError
        No sentences.
    """
    from gensim.models import Word2Vec
    sentences = [list(s) for s in sentences]
    if not sentences:
        raise ValueError("no sentences to train word2vec on")
    m = Word2Vec(sentences=sentences, vector_size=dim, window=window, min_count=min_count, sg=int(sg),
                 epochs=epochs, seed=seed, workers=workers)
    return m.wv


def cached_word2vec(folder, sentences, **settings):
    """:func:`train_word2vec` with a cache in ``folder``, keyed by the corpus and the settings.

    Parameters
    ----------
    folder : str or Path
        Cache folder (created when missing).
    sentences : iterable of list of str
    **settings
        Keyword arguments of :func:`train_word2vec`.

    Returns
    -------
    wv : gensim.models.KeyedVectors
    path : Path
        The cache file.
    was_cached : bool
        Read from the cache (not trained).
    """
    from gensim.models import KeyedVectors
    key = hashlib.sha256(json.dumps({"corpus": corpus_digest(sentences), **settings}, sort_keys=True).encode())
    path = Path(folder) / f"w2v-{key.hexdigest()[:16]}.kv"
    if path.exists():
        try:
            return KeyedVectors.load(str(path)), path, True
        except Exception:  # a broken cache file is rebuilt
            path.unlink(missing_ok=True)
    wv = train_word2vec(sentences, **settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wv.save(str(tmp))
    tmp.replace(path)
    return wv, path, False


def vocabulary_and_matrix(wv, seed: int = 0) -> tuple[dict[str, int], np.ndarray]:
    """Word ids and the matching embedding matrix.

    Ids: 0 = padding, 1 = unknown, then the entity markers, then the word2vec words. Rows:
    padding zero; unknown and markers random normal with the spread of the word2vec vectors.

    Parameters
    ----------
    wv : gensim.models.KeyedVectors
    seed : int
        Seed of the random rows.

    Returns
    -------
    vocab : dict of str to int
    matrix : ndarray of float32, shape (len(vocab), dim)
    """
    rng = np.random.default_rng(seed)
    words = list(wv.index_to_key)
    vocab = {"<pad>": PAD, "<unk>": UNK}
    for m in MARKERS:
        vocab[m] = len(vocab)
    for w in words:
        if w not in vocab:
            vocab[w] = len(vocab)
    dim = wv.vector_size
    mat = np.zeros((len(vocab), dim), np.float32)
    scale = float(np.std(wv.vectors)) if len(words) else 0.1
    mat[1:2 + len(MARKERS)] = rng.normal(0, scale, (1 + len(MARKERS), dim))
    for w in words:
        mat[vocab[w]] = wv[w]
    return vocab, mat


def nearest(wv, word: str, n: int = 5) -> list[tuple[str, float]]:
    """Nearest neighbours by cosine similarity.

    Parameters
    ----------
    wv : gensim.models.KeyedVectors
    word : str
    n : int

    Returns
    -------
    list of (str, float)
        Empty for an unknown word.
    """
    if word not in wv.key_to_index:
        return []
    return [(w, float(s)) for w, s in wv.most_similar(word, topn=n)]
