"""The CNN of the ``mergers`` chain: the model, its pretrained weights, training, prediction, saved models.

The network is MobileNet v1 (width 0.25) with the ImageNet weights of the data snapshot
(``transfer``) or a random initialisation (``scratch``), then global average pooling, a dense
layer, dropout and a two-way softmax; it takes pixel values in [0, 255] (its first layer maps
them to [-1, 1]). :func:`train` follows the paper's schedule:

- ``transfer``: phase 1 trains the head with the base frozen (Adam, ``head_lr``); phase 2
  unfreezes the base except its batch-norm statistics (SGD with momentum, ``finetune_lr``);
- ``scratch``: one Adam phase (``scratch_lr``) of ``head_epochs + finetune_epochs`` epochs, every
  layer trained, so both arms take the same number of gradient steps.

Every batch holds equally many mergers and non-mergers and is augmented
(:mod:`repro.astro.mergers.batches`); each phase stops early on the class-balanced validation loss
and keeps its best epoch's weights. Trained models are saved with a record of how images must
be prepared for them (:func:`save_model`, :func:`model_view`).

TensorFlow and Keras are imported when a function needs them, not with the module.

Example
-------
>>> from repro.astro.mergers import cnn
>>> cfg = cnn.TrainConfig(arm="scratch", image_size=32, steps_per_epoch=2)
>>> cfg.head_epochs + cfg.finetune_epochs          # epochs of the one scratch phase
33
>>> model, history = cnn.train(X, y, Xv, yv, cfg)  # doctest: +SKIP
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ... import data
from ...errors import ReproError
from ...io import read_json, write_json
from .batches import balanced_batches, class_weights, make_dataset

__all__ = ["WEIGHTS_DATASET", "WEIGHTS_FILE", "ARMS", "ARM_LABELS", "WeightsError", "ModelError",
           "configure_threads", "weights_path", "build_model", "h5_layer_weights", "TrainConfig", "train",
           "kept_epochs", "predict_proba", "save_model", "model_view", "load_model"]

WEIGHTS_DATASET = "keras-mobilenet-v1-0.25-imagenet"
"""The registered data set of the pretrained weights."""
WEIGHTS_FILE = "mobilenet_2_5_224_tf_no_top.h5"
"""The Keras-2 HDF5 file of MobileNet v1 (alpha 0.25, no top) in that data set."""
ARMS = ("transfer", "scratch")
"""The two arms: ImageNet initialisation and random initialisation."""
ARM_LABELS = {"transfer": "CNN, ImageNet transfer", "scratch": "CNN, random init"}
"""How tables and figures name the arms."""


class WeightsError(ReproError):
    """The pretrained weights file is missing or does not fit the model."""


class ModelError(ReproError):
    """A saved model cannot be loaded or used."""


def configure_threads(n: int) -> None:
    """Limit TensorFlow to ``n`` intra-op threads and one inter-op thread.

    Call before the first TensorFlow operation; once TensorFlow is initialised the first
    setting stays (no error). Sets ``TF_CPP_MIN_LOG_LEVEL=2`` (quiet kernels) unless already set.

    Parameters
    ----------
    n : int
        Intra-op threads.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(n))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF already initialised: the first setting stays
        pass


def weights_path() -> Path:
    """The ImageNet MobileNet v1 (alpha 0.25, no top) weights file of the data snapshot.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    repro.data.DataError
        The data set or the file is missing.
    """
    return data.locate(WEIGHTS_DATASET, WEIGHTS_FILE)


def build_model(image_size: int, weights: str | None = "imagenet", *, weights_file=None,
                dense_units: int = 32, dropout: float = 0.2, seed: int = 0, bn_momentum: float = 0.99):
    """MobileNet v1 (alpha 0.25) base + global average pooling + dense + dropout + 2-way softmax.

    Parameters
    ----------
    image_size : int
        Input side in pixels (>= 32); the model takes ``(size, size, 3)`` pixel values in [0, 255].
    weights : {"imagenet", None}
        ImageNet weights from ``weights_file`` or a random initialisation.
    weights_file : path-like, optional
        The HDF5 weights file (default: :func:`weights_path`).
    dense_units : int
        Units of the dense layer.
    dropout : float
        Dropout rate before the softmax.
    seed : int
        Seed of the random initialisation (``keras.utils.set_random_seed``: the head, and the
        base when ``weights`` is None) and of the dropout.
    bn_momentum : float
        Momentum of the base's batch-norm moving averages, in [0, 1) (Keras default 0.99). The
        inference statistics of a randomly initialised network trained for only a few hundred
        steps lag far behind the weights at 0.99 (the network then predicts a constant); 0.9
        follows them ten times faster. Irrelevant while the statistics are frozen (transfer arm).

    Returns
    -------
    keras.Model
        Named ``mobilenet025_imagenet`` or ``mobilenet025_scratch``; the base is the layer
        ``mobilenet_base``.

    Raises
    ------
    ValueError
        ``image_size`` below 32, unknown ``weights``, ``bn_momentum`` outside [0, 1).
    WeightsError
        The weights file is missing or its layers do not fit the architecture.
    """
    import keras
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32 for MobileNet, got {image_size}")
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}")
    if not 0 <= bn_momentum < 1:
        raise ValueError(f"bn_momentum must be in [0, 1), got {bn_momentum}")
    path = None
    if weights == "imagenet":
        path = Path(weights_file) if weights_file is not None else weights_path()
        if not path.is_file():
            raise WeightsError(f"pretrained weights file {path} does not exist (data set '{WEIGHTS_DATASET}', "
                               f"see its SOURCE.md); use weights=None for a random initialisation")
    keras.utils.set_random_seed(int(seed))
    base = keras.applications.MobileNet(input_shape=(image_size, image_size, 3), alpha=0.25,
                                        include_top=False, weights=None)
    base.name = "mobilenet_base"
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(bn_momentum)
    if path is not None:
        try:
            base.load_weights(str(path))
        except Exception as exc:  # h5py/keras raise many types for a bad file
            raise WeightsError(f"cannot load pretrained weights from {path}: {type(exc).__name__}: "
                               f"{str(exc)[:200]}") from None
    inp = keras.Input((image_size, image_size, 3), name="pixels")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(inp)
    x = base(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(dropout, seed=int(seed), name="dropout")(x)
    out = keras.layers.Dense(2, activation="softmax", name="softmax")(x)
    return keras.Model(inp, out, name=f"mobilenet025_{weights or 'scratch'}")


def h5_layer_weights(path, layer: str) -> list[np.ndarray]:
    """The arrays stored for one layer in a Keras-2 HDF5 weights file, in file order.

    Parameters
    ----------
    path : path-like
        The weights file.
    layer : str
        Layer name (e.g. ``"conv1_bn"``).

    Returns
    -------
    list of numpy.ndarray

    Raises
    ------
    WeightsError
        The file cannot be read or holds no such layer.
    """
    import h5py
    try:
        with h5py.File(path, "r") as f:
            g = f[layer]
            return [np.asarray(g[n.decode() if isinstance(n, bytes) else n]) for n in g.attrs["weight_names"]]
    except (OSError, KeyError) as exc:
        raise WeightsError(f"{path}: cannot read layer '{layer}' ({exc})") from None


@dataclass(frozen=True)
class TrainConfig:
    """How one network is trained (see :func:`train`).

    The defaults are the ``full`` profile of ``notebooks/mergers/params.yaml`` (the chain passes
    every value explicitly, see :func:`repro.papers.mergers.train_config`).

    Attributes
    ----------
    arm : {"transfer", "scratch"}
        ImageNet initialisation with two phases, or random initialisation with one.
    image_size : int
        Side of the input images.
    crop : float
        The central share of the cutout the images were made from (recorded with saved models).
    batch_size : int
        Images per batch, half of each class.
    steps_per_epoch : int
        Batches per epoch.
    head_epochs, finetune_epochs : int
        Epochs of phase 1 (head only) and phase 2 (base unfrozen); scratch trains their sum.
    head_lr, finetune_lr, scratch_lr : float
        Learning rates of phase 1 (Adam), phase 2 (SGD) and the scratch phase (Adam).
    bn_momentum : float
        Batch-norm momentum of the base (:func:`build_model`).
    momentum : float
        SGD momentum of phase 2.
    patience : int
        Epochs without a lower validation loss before a phase stops.
    dense_units : int
        Units of the dense layer.
    dropout : float
        Dropout rate.
    augment : bool
        Augment the batches (:func:`~repro.astro.mergers.batches.augment_batch`).
    zoom, shift : float
        Augmentation strengths.
    seed : int
        Seed of the initialisation, the batches and the augmentation.

    Raises
    ------
    ValueError
        Unknown ``arm``.
    """

    arm: str = "transfer"
    image_size: int = 96
    crop: float = 0.35
    batch_size: int = 32
    steps_per_epoch: int = 20
    head_epochs: int = 3
    finetune_epochs: int = 30
    head_lr: float = 1e-3
    finetune_lr: float = 1e-3
    scratch_lr: float = 1e-3
    bn_momentum: float = 0.9
    momentum: float = 0.9
    patience: int = 5
    dense_units: int = 32
    dropout: float = 0.2
    augment: bool = True
    zoom: float = 0.1
    shift: float = 0.05
    seed: int = 0

    def __post_init__(self):
        if self.arm not in ARMS:
            raise ValueError(f"arm must be one of {ARMS}, got {self.arm!r}")


def _best_weights_callback(patience: int):
    """Early stopping on the validation loss that always restores the best epoch's weights."""
    import keras

    class BestWeights(keras.callbacks.Callback):
        def __init__(self, patience):
            super().__init__()
            self.patience, self.best, self.weights, self.wait, self.best_epoch = patience, np.inf, None, 0, -1

        def on_epoch_end(self, epoch, logs=None):
            v = float((logs or {}).get("val_loss", np.inf))
            if v < self.best:
                self.best, self.weights, self.wait, self.best_epoch = v, self.model.get_weights(), 0, epoch
            else:
                self.wait += 1
                if self.wait > self.patience:
                    self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.weights is not None:
                self.model.set_weights(self.weights)
    return BestWeights(patience)


def _set_base_trainable(model, trainable: bool, bn_trainable: bool) -> None:
    import keras
    base = model.get_layer("mobilenet_base")
    base.trainable = True
    for layer in base.layers:
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable and (bn_trainable or not is_bn)
    if not trainable:
        base.trainable = False


def train(X: np.ndarray, y: np.ndarray, Xv: np.ndarray, yv: np.ndarray, cfg: TrainConfig):
    """Train one network (see the module docstring for the phases).

    The batches of all phases come from one ``numpy.random.default_rng(cfg.seed)``; phase
    batches are augmented with the seed ``7 cfg.seed + e``, ``e`` the epochs trained before
    the phase (:func:`~repro.astro.mergers.batches.make_dataset`). The validation loss weighs
    both classes equally (:func:`~repro.astro.mergers.batches.class_weights`).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, s, s, 3)
        Training images (pixel values in [0, 255]).
    y : array_like, shape (n,)
        Training labels.
    Xv, yv : numpy.ndarray or None
        Validation images and labels (early stopping). ``None``: no validation; every phase
        trains exactly its epochs and keeps the last weights (the final model of a schedule
        whose epochs were chosen by cross-validation).
    cfg : TrainConfig
        Arm, schedule and seed.

    Returns
    -------
    model : keras.Model
        With the best epoch's weights of its last phase (the last epoch's without validation).
    history : list of dict
        One per epoch: ``phase``, ``epoch`` (counted over phases), ``loss``, ``val_loss``
        (``None`` without validation) and ``best`` (the epoch whose weights the phase kept).

    Raises
    ------
    WeightsError
        ``transfer`` without the pretrained weights file.
    """
    import keras
    model = build_model(cfg.image_size, "imagenet" if cfg.arm == "transfer" else None,
                        dense_units=cfg.dense_units, dropout=cfg.dropout, seed=cfg.seed,
                        bn_momentum=cfg.bn_momentum)
    rng = np.random.default_rng(cfg.seed)
    aug = {"zoom": cfg.zoom, "shift": cfg.shift} if cfg.augment else None
    if (Xv is None) != (yv is None):
        raise ValueError("give both validation images and labels, or neither")
    val = None if Xv is None else (np.asarray(Xv, np.float32), np.asarray(yv, np.int32), class_weights(yv))
    history: list[dict] = []
    if cfg.arm == "transfer":
        phases = [("head", cfg.head_epochs, False, keras.optimizers.Adam(cfg.head_lr)),
                  ("finetune", cfg.finetune_epochs, True,
                   keras.optimizers.SGD(cfg.finetune_lr, momentum=cfg.momentum))]
    else:
        phases = [("scratch", cfg.head_epochs + cfg.finetune_epochs, True, keras.optimizers.Adam(cfg.scratch_lr))]
    for name, epochs, unfrozen, opt in phases:
        if epochs <= 0:
            continue
        if cfg.arm == "transfer":
            _set_base_trainable(model, unfrozen, bn_trainable=False)
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        batches = balanced_batches(y, cfg.batch_size, epochs * cfg.steps_per_epoch, rng)
        ds = make_dataset(X, y, batches, cfg.seed * 7 + len(history), aug)
        if val is None:
            h = model.fit(ds, epochs=epochs, steps_per_epoch=cfg.steps_per_epoch, verbose=0, shuffle=False)
            losses = h.history["loss"]
            for e, lt in enumerate(losses):
                history.append({"phase": name, "epoch": len(history) + 1, "loss": float(lt), "val_loss": None,
                                "best": e == len(losses) - 1})
            continue
        cb = _best_weights_callback(cfg.patience)
        h = model.fit(ds, epochs=epochs, steps_per_epoch=cfg.steps_per_epoch, validation_data=val,
                      callbacks=[cb], verbose=0, shuffle=False)
        for e, (lt, lv) in enumerate(zip(h.history["loss"], h.history["val_loss"])):
            history.append({"phase": name, "epoch": len(history) + 1, "loss": float(lt), "val_loss": float(lv),
                            "best": e == cb.best_epoch})
    return model, history


def kept_epochs(history: list[dict]) -> dict[str, int]:
    """The epochs of each phase up to the one whose weights the phase kept.

    Parameters
    ----------
    history : list of dict
        The history of :func:`train`.

    Returns
    -------
    dict
        Phase name -> number of epochs of that phase up to and including its kept epoch
        (e.g. ``{"head": 3, "finetune": 12}``); a phase that trained no epoch is absent.

    Example
    -------
    >>> kept_epochs([{"phase": "head", "best": False}, {"phase": "head", "best": True},
    ...              {"phase": "finetune", "best": True}, {"phase": "finetune", "best": False}])
    {'head': 2, 'finetune': 1}
    """
    out: dict[str, int] = {}
    count: dict[str, int] = {}
    for h in history:
        count[h["phase"]] = count.get(h["phase"], 0) + 1
        if h["best"]:
            out[h["phase"]] = count[h["phase"]]
    return out


def predict_proba(model, X: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Merger probability of each image.

    Parameters
    ----------
    model : keras.Model
        A classifier of :func:`build_model`.
    X : array_like, shape (n, s, s, 3)
        Pixel values in [0, 255].
    batch_size : int
        Images per forward pass.

    Returns
    -------
    numpy.ndarray, shape (n,), float
    """
    if len(X) == 0:
        return np.zeros(0)
    return model.predict(np.asarray(X, np.float32), batch_size=batch_size, verbose=0)[:, 1].astype(float)


def save_model(model, path, crop: float = 1.0, card: dict | None = None) -> Path:
    """Save a classifier for inference with a record of how images must be prepared for it.

    The model goes to ``path`` (``.keras``) without its optimizer state (a copy of the
    architecture with the trained weights, about 1.2 MB instead of 2.2), the record
    ``{"image_size", "crop", **card}`` to the ``.json`` beside it (read by :func:`model_view`).
    The model is written under a temporary name first and renamed, so an interrupted save never
    leaves a half-written file under the final name.

    Parameters
    ----------
    model : keras.Model
        The classifier.
    path : path-like
        Where to save it; parent folders are created.
    crop : float
        The central share of each cutout the model was trained on.
    card : dict, optional
        More keys for the record, e.g. the operating threshold and its expected rates
        (:func:`repro.astro.mergers.operating.model_card`); must not redefine ``image_size``
        or ``crop``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        ``card`` redefines ``image_size`` or ``crop``.
    """
    import keras
    card = dict(card or {})
    clash = sorted({"image_size", "crop"} & set(card))
    if clash:
        raise ValueError(f"the card must not redefine {clash}: they come from the model and `crop`")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    bare = type(model).from_config(model.get_config())   # uncompiled: no optimizer state in the file
    bare.set_weights(model.get_weights())
    bare.save(tmp)
    write_json(path.with_suffix(".json"), {"image_size": int(model.input_shape[1]), "crop": float(crop), **card})
    os.replace(tmp, path)
    return path


def model_view(path) -> dict:
    """How images must be prepared for a saved model (the record of :func:`save_model`).

    Parameters
    ----------
    path : path-like
        The ``.keras`` file.

    Returns
    -------
    dict
        ``{"image_size", "crop", ...}`` with any card keys (e.g. ``threshold``);
        ``{"crop": 1.0}`` when no record exists.

    Raises
    ------
    ModelError
        The record is unreadable, its crop is outside (0, 1] or its threshold outside [0, 1].
    """
    side = Path(path).with_suffix(".json")
    if not side.is_file():
        return {"crop": 1.0}
    try:
        view = read_json(side)
        crop = float(view["crop"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{side}: cannot read the image preparation of the model ({exc})") from None
    if not 0 < crop <= 1:
        raise ModelError(f"{side}: crop must be in (0, 1], got {crop}")
    if "threshold" in view:
        try:
            thr = float(view["threshold"])
        except (TypeError, ValueError):
            thr = float("nan")
        if not 0 <= thr <= 1:
            raise ModelError(f"{side}: threshold must be a probability in [0, 1], got {view['threshold']!r}")
        view["threshold"] = thr
    return {**view, "crop": crop}


def load_model(path):
    """Load a saved merger classifier.

    Parameters
    ----------
    path : path-like
        The ``.keras`` file.

    Returns
    -------
    keras.Model
        Not compiled (for inference).

    Raises
    ------
    ModelError
        The file is missing or not a loadable Keras model.
    """
    import keras
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise ModelError(f"cannot load model {path}: {type(exc).__name__}: {str(exc)[:200]}") from None
