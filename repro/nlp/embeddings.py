"""Word embeddings (word2vec, gensim) trained on the task's own abstracts, cached in the run folder.

The paper used 200-d word2vec vectors trained on scientific text (ACL and arXiv papers). We
train the same kind of vectors on the text of every abstract of the task (training and test
abstracts, without any labels); the vectors are cached as ``w2v-<hash>.kv`` under the run
folder (never in the repository), keyed by the corpus and the training settings.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .features import MARKERS, PAD, UNK


def corpus_digest(sentences) -> str:
    h = hashlib.sha256()
    for s in sentences:
        h.update(("\x1f".join(s) + "\x1e").encode())
    return h.hexdigest()[:16]


def train_word2vec(sentences, *, dim: int = 200, window: int = 5, min_count: int = 2, epochs: int = 20,
                   sg: bool = True, seed: int = 0, workers: int = 1):
    """Train word2vec; returns gensim ``KeyedVectors`` (single worker: deterministic for a seed)."""
    from gensim.models import Word2Vec
    sentences = [list(s) for s in sentences]
    if not sentences:
        raise ValueError("no sentences to train word2vec on")
    m = Word2Vec(sentences=sentences, vector_size=dim, window=window, min_count=min_count, sg=int(sg),
                 epochs=epochs, seed=seed, workers=workers)
    return m.wv


def cached_word2vec(folder, sentences, **settings):
    """``train_word2vec`` with a cache in ``folder``; returns ``(KeyedVectors, path, was_cached)``."""
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
    """Word ids (0 = padding, 1 = unknown, then the entity markers, then the word2vec words) and
    the matching embedding matrix (padding zero; unknown and markers small random vectors)."""
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
    """Nearest neighbours by cosine similarity ([] for unknown words)."""
    if word not in wv.key_to_index:
        return []
    return [(w, float(s)) for w, s in wv.most_similar(word, topn=n)]
