"""Word embeddings (word2vec, gensim): corpora, training with progress, a cache in the run folder.

The paper used 200-d word2vec vectors trained on in-domain scientific text (ACL and arXiv
papers). :func:`build_corpus` assembles the corpus named by the chain's parameters: the text of
the task's abstracts (training abstracts, and the test abstracts' unlabelled text if allowed;
never a relation), the ACL Anthology abstracts of the data set ``acl-anthology-abstracts`` up to
a given year (:func:`acl_abstracts`; the data set holds none of the task's test abstracts), or
both. The vectors are cached as ``w2v-<hash>.kv`` under the run folder (never in the
repository), keyed by the corpus and the training settings.

Determinism: with one worker, gensim's word2vec gives the same vectors for the same seed, in
any process (gensim 4 draws its initial vectors from a generator seeded by ``seed``, not from
Python's salted string hash, so ``PYTHONHASHSEED`` does not matter; a test checks this across
two processes). More workers are faster but not reproducible.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .features import MARKERS, PAD, UNK, sentences as doc_sentences, text_sentences

#: the data set of unlabelled in-domain text
ACL_DATASET = "acl-anthology-abstracts"
#: the corpora :func:`build_corpus` knows
CORPORA = ("task", "acl", "both")


def corpus(splits, parts=None) -> list[list[str]]:
    """Tokenized sentences of every distinct abstract of ``splits`` (text only, no labels).

    Parameters
    ----------
    splits : dict of (str, str) to repro.nlp.reader.Split
        E.g. :func:`repro.nlp.reader.load_all`; an abstract in several splits counts once.
    parts : collection of str, optional
        Only splits whose part (``"train"``, ``"test"``) is in ``parts``; default all.

    Returns
    -------
    list of list of str
    """
    seen, out = set(), []
    for (part, _), s in splits.items():
        if parts is not None and part not in parts:
            continue
        for d in s.docs.values():
            if d.id not in seen:
                seen.add(d.id)
                out += doc_sentences(d)
    return out


def acl_abstracts(max_year: int | None = None, fraction: float = 1.0, seed: int = 0) -> list[str]:
    """Abstracts of the data set ``acl-anthology-abstracts`` (verified on first use).

    Parameters
    ----------
    max_year : int, optional
        Newest year admitted (``None``: all).
    fraction : float
        Share of the admitted abstracts kept, drawn at random (in corpus order).
    seed : int
        Seed of that draw.

    Returns
    -------
    list of str
        One abstract per item, in the data set's order.

    Raises
    ------
    ValueError
        ``fraction`` outside (0, 1].
    repro.errors.DataError
        The data set is missing or corrupted, or its text and metadata disagree.
    """
    from ..data import DataError, locate
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    meta = locate(ACL_DATASET, "acl_abstracts.meta.tsv").read_text(encoding="utf-8").split("\n")
    if not meta or meta[0].split("\t")[:2] != ["anthology_id", "year"]:
        raise DataError(f"{ACL_DATASET}: acl_abstracts.meta.tsv does not start with anthology_id, year")
    years = np.array([int(row.split("\t", 2)[1]) for row in meta[1:] if row])
    text = locate(ACL_DATASET, "acl_abstracts.txt").read_text(encoding="utf-8").split("\n")
    if text and text[-1] == "":
        text.pop()
    if len(text) != len(years):
        raise DataError(f"{ACL_DATASET}: {len(text)} abstracts but {len(years)} metadata rows")
    idx = np.flatnonzero(years <= max_year) if max_year is not None else np.arange(len(years))
    if fraction < 1:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(idx, size=max(1, int(round(fraction * len(idx)))), replace=False))
    return [text[i] for i in idx]


def build_corpus(kind: str, splits, *, test_text: bool = True, max_year: int | None = 2017,
                 acl_fraction: float = 1.0, seed: int = 0) -> tuple[list[list[str]], dict]:
    """The embedding corpus named by ``kind``, as tokenized sentences.

    Parameters
    ----------
    kind : {"task", "acl", "both"}
        The task's abstracts, the ACL Anthology abstracts, or both (task first).
    splits : dict of (str, str) to repro.nlp.reader.Split
        The task's splits.
    test_text : bool
        Include the unlabelled text of the test abstracts (``task`` and ``both``).
    max_year : int, optional
        Newest year of the ACL abstracts (``None``: all).
    acl_fraction : float
        Share of the admitted ACL abstracts (see :func:`acl_abstracts`).
    seed : int
        Seed of that draw.

    Returns
    -------
    sentences : list of list of str
    info : dict
        ``kind``, ``task_tokens``, ``acl_abstracts``, ``acl_tokens``, ``tokens``, ``max_year``,
        ``test_text``.

    Raises
    ------
    ValueError
        An unknown ``kind``.
    """
    if kind not in CORPORA:
        raise ValueError(f"unknown corpus {kind!r}; choose one of {', '.join(CORPORA)}")
    task: list[list[str]] = []
    if kind in ("task", "both"):
        task = corpus(splits, None if test_text else {"train"})
    acl: list[list[str]] = []
    n_acl = 0
    if kind in ("acl", "both"):
        docs = acl_abstracts(max_year, acl_fraction, seed)
        n_acl = len(docs)
        for text in docs:
            acl += text_sentences(text)
    n_task, n_acl_tok = sum(map(len, task)), sum(map(len, acl))
    info = {"kind": kind, "task_tokens": n_task, "acl_abstracts": n_acl, "acl_tokens": n_acl_tok,
            "tokens": n_task + n_acl_tok, "max_year": max_year if kind != "task" else None,
            "test_text": bool(test_text) if kind != "acl" else False}
    return task + acl, info


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


def _progress_callback(epochs: int, desc: str):
    """A gensim callback that advances a tqdm bar once per epoch."""
    from gensim.models.callbacks import CallbackAny2Vec
    from tqdm import tqdm   # text bars (tqdm.auto warns, with a path of the machine, when ipywidgets is absent)

    class _Bar(CallbackAny2Vec):
        def __init__(self):
            self.bar = tqdm(total=epochs, desc=desc, unit="epoch", leave=False)

        def on_epoch_end(self, model):
            self.bar.update(1)

        def on_train_end(self, model):
            self.bar.close()

    return _Bar()


def train_word2vec(sentences, *, dim: int = 200, window: int = 5, min_count: int = 2, epochs: int = 20,
                   sg: bool = True, seed: int = 0, workers: int = 1, progress: str | None = None):
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
    progress : str, optional
        Show a progress bar (tqdm, one step per epoch) with this label.

    Returns
    -------
    gensim.models.KeyedVectors

    Raises
    ------
    ValueError
        No sentences, or a setting below 1.
    """
    from gensim.models import Word2Vec
    sentences = [list(s) for s in sentences]
    if not sentences:
        raise ValueError("no sentences to train word2vec on")
    for name, v in (("dim", dim), ("window", window), ("min_count", min_count), ("epochs", epochs),
                    ("workers", workers)):
        if int(v) < 1:
            raise ValueError(f"{name} must be at least 1, got {v!r}")
    callbacks = [_progress_callback(epochs, progress)] if progress else []
    m = Word2Vec(sentences=sentences, vector_size=dim, window=window, min_count=min_count, sg=int(sg),
                 epochs=epochs, seed=seed, workers=workers, callbacks=callbacks)
    return m.wv


def cached_word2vec(folder, sentences, **settings):
    """:func:`train_word2vec` with a cache in ``folder``, keyed by the corpus and the settings.

    Parameters
    ----------
    folder : str or Path
        Cache folder (created when missing).
    sentences : iterable of list of str
    **settings
        Keyword arguments of :func:`train_word2vec` (``progress`` is not part of the cache key).

    Returns
    -------
    wv : gensim.models.KeyedVectors
    path : Path
        The cache file.
    was_cached : bool
        Read from the cache (not trained).
    """
    from gensim.models import KeyedVectors
    keyed = {k: v for k, v in settings.items() if k != "progress"}
    key = hashlib.sha256(json.dumps({"corpus": corpus_digest(sentences), **keyed}, sort_keys=True).encode())
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


def vocabulary_and_matrix(wv, seed: int = 0, keep=None) -> tuple[dict[str, int], np.ndarray]:
    """Word ids and the matching embedding matrix.

    Ids: 0 = padding, 1 = unknown, then the entity markers, then the word2vec words. Rows:
    padding zero; unknown and markers random normal with the spread of the word2vec vectors
    (the spread of all word2vec vectors, also with ``keep``).

    Parameters
    ----------
    wv : gensim.models.KeyedVectors
    seed : int
        Seed of the random rows.
    keep : collection of str, optional
        Only these words of ``wv`` get an id (in ``wv``'s order). With every word the models
        can ever look up (the task's abstracts), the lookups are those of the full vocabulary,
        from a far smaller matrix.

    Returns
    -------
    vocab : dict of str to int
    matrix : ndarray of float32, shape (len(vocab), dim)
    """
    rng = np.random.default_rng(seed)
    words = list(wv.index_to_key)
    if keep is not None:
        keep = set(keep)
        words = [w for w in words if w in keep]
    vocab = {"<pad>": PAD, "<unk>": UNK}
    for m in MARKERS:
        vocab[m] = len(vocab)
    for w in words:
        if w not in vocab:
            vocab[w] = len(vocab)
    dim = wv.vector_size
    mat = np.zeros((len(vocab), dim), np.float32)
    scale = float(np.std(wv.vectors)) if len(wv.index_to_key) else 0.1
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
