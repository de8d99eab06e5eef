"""The two networks of the paper, in Keras 3: a CNN and a bidirectional RNN over the marked span.

Both read three inputs of length ``max_len``: word ids (embedding initialised from word2vec,
fine-tuned) and the positions relative to each entity (small learned embeddings). The CNN
applies convolutions of several widths with max-pooling over time; the RNN a bidirectional
LSTM or GRU whose states are max-pooled over time. Both end in dropout and a softmax.

:func:`configure` (called by the chain's driver, :func:`repro.papers.semeval.setup`) chooses
Keras's TensorFlow backend, quiets TensorFlow's C++ log and sets its thread pools.
"""
from __future__ import annotations

import os

import numpy as np


def configure(threads: int = 1) -> None:
    """Limit TensorFlow to ``threads`` CPU threads (call before building any model).

    Sets ``KERAS_BACKEND=tensorflow`` and ``TF_CPP_MIN_LOG_LEVEL=2`` unless already set, then
    both thread pools (intra- and inter-op) of TensorFlow. Once TensorFlow has run an
    operation its pools are fixed; a later call keeps the earlier setting.

    Parameters
    ----------
    threads : int
        CPU threads.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised: keep the earlier setting
        pass


def _inputs_and_features(keras, emb_matrix: np.ndarray, n_pos: int, max_len: int, pos_dim: int):
    from keras import layers
    words = keras.Input((max_len,), dtype="int32", name="words")
    pos1 = keras.Input((max_len,), dtype="int32", name="pos1")
    pos2 = keras.Input((max_len,), dtype="int32", name="pos2")
    v, d = emb_matrix.shape
    w = layers.Embedding(v, d, embeddings_initializer=keras.initializers.Constant(emb_matrix),
                         mask_zero=False, name="word_emb")(words)
    p1 = layers.Embedding(n_pos, pos_dim, name="pos1_emb")(pos1)
    p2 = layers.Embedding(n_pos, pos_dim, name="pos2_emb")(pos2)
    return [words, pos1, pos2], layers.Concatenate(name="features")([w, p1, p2])


def build_cnn(emb_matrix: np.ndarray, n_pos: int, n_classes: int, max_len: int, *, filters: int = 100,
              kernel_sizes=(2, 3, 4, 5), pos_dim: int = 20, dropout: float = 0.5, lr: float = 1e-3):
    """CNN classifier.

    Parameters
    ----------
    emb_matrix : ndarray, shape (vocabulary, dim)
        Initial word embeddings (fine-tuned).
    n_pos : int
        Size of the position vocabulary (:func:`repro.nlp.features.n_positions`).
    n_classes : int
    max_len : int
        Input length.
    filters : int
        Filters per kernel width.
    kernel_sizes : sequence of int
    pos_dim : int
        Size of the position embeddings.
    dropout : float
        Before the softmax (half of it on the input features).
    lr : float
        Adam's learning rate.

    Returns
    -------
    keras.Model
        Compiled (sparse categorical cross-entropy); inputs ``words``, ``pos1``, ``pos2``;
        softmax output.
    """
    import keras
    from keras import layers
    inputs, x = _inputs_and_features(keras, emb_matrix, n_pos, max_len, pos_dim)
    x = layers.Dropout(dropout / 2)(x)
    pooled = [layers.GlobalMaxPooling1D()(layers.Conv1D(filters, k, padding="same", activation="relu")(x))
              for k in kernel_sizes]
    h = layers.Concatenate()(pooled) if len(pooled) > 1 else pooled[0]
    h = layers.Dropout(dropout)(h)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(h)
    model = keras.Model(inputs, out, name="cnn")
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy")
    return model


def build_rnn(emb_matrix: np.ndarray, n_pos: int, n_classes: int, max_len: int, *, units: int = 64,
              cell: str = "lstm", pos_dim: int = 20, dropout: float = 0.5, lr: float = 1e-3):
    """Bidirectional LSTM/GRU classifier, states max-pooled over time.

    Parameters
    ----------
    emb_matrix, n_pos, n_classes, max_len, pos_dim, dropout, lr
        As in :func:`build_cnn`.
    units : int
        Units per direction.
    cell : {"lstm", "gru"}

    Returns
    -------
    keras.Model
        Compiled, as :func:`build_cnn`.

    Raises
    ------
    ValueError
        Unknown ``cell``.
    """
    import keras
    from keras import layers
    if cell not in ("lstm", "gru"):
        raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
    inputs, x = _inputs_and_features(keras, emb_matrix, n_pos, max_len, pos_dim)
    x = layers.Dropout(dropout / 2)(x)
    rnn = layers.LSTM(units, return_sequences=True) if cell == "lstm" else layers.GRU(units, return_sequences=True)
    h = layers.GlobalMaxPooling1D()(layers.Bidirectional(rnn)(x))
    h = layers.Dropout(dropout)(h)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(h)
    model = keras.Model(inputs, out, name=f"bi{cell}")
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy")
    return model


def build(kind: str, emb_matrix, n_pos, n_classes, max_len, **kw):
    """Build the model of ``kind``.

    Parameters
    ----------
    kind : {"cnn", "rnn"}
    emb_matrix, n_pos, n_classes, max_len
        As in :func:`build_cnn`.
    **kw
        Settings of :func:`build_cnn` or :func:`build_rnn`; those of the other kind are ignored.

    Returns
    -------
    keras.Model

    Raises
    ------
    ValueError
        Unknown ``kind``.
    """
    if kind == "cnn":
        keep = {k: v for k, v in kw.items() if k in ("filters", "kernel_sizes", "pos_dim", "dropout", "lr")}
        return build_cnn(emb_matrix, n_pos, n_classes, max_len, **keep)
    if kind == "rnn":
        keep = {k: v for k, v in kw.items() if k in ("units", "cell", "pos_dim", "dropout", "lr")}
        return build_rnn(emb_matrix, n_pos, n_classes, max_len, **keep)
    raise ValueError(f"model kind must be 'cnn' or 'rnn', got {kind!r}")
