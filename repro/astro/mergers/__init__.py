"""Galaxy-merger detection with CNNs and transfer learning, against CAS and Gini-M20
(Ackermann et al. 2018, arXiv:1805.10289).

Modules, one concept each:

- :mod:`.images`            labels, the sample, JPEG decoding, the CNN's view (central crop, area
  resize), image caches, degradations (noise, blur);
- :mod:`.batches`           the training input: class-balanced batches, augmentation (rotations,
  flips, zoom, shifts), the ``tf.data`` pipeline;
- :mod:`.cnn`               MobileNet v1 (alpha 0.25) with ImageNet or random weights, the two-phase
  training (:class:`TrainConfig`, :func:`train`), prediction, saving and loading models,
  TensorFlow's threads;
- :mod:`.cross_validation`  repeated stratified k-fold splits, train/validation splits, subsamples,
  training every arm on every split (:func:`run_cv`);
- :mod:`.statistics`        error, balanced error, ROC AUC, bootstrap intervals, McNemar and paired tests;
- :mod:`.morphology`        CAS and Gini-M20 through statmorph, the Lotz and Conselice rules, the
  feature classifiers;
- :mod:`.operating`         the operating point of the shipped classifier: thresholds at a stated
  false-positive rate, their cross-validated rates, the epochs of the final model, its card;
- :mod:`.cli`               :func:`predict` on a folder of cutouts and the command line
  ``python -m repro.astro.mergers predict MODEL IMAGES_DIR [--out CSV]``.

The chain's glue (setup, named seeds, threads, the sample's cached images and splits, the
degraded images of the robustness test) is :mod:`repro.papers.mergers`. Every public name of
the modules is importable from here, e.g. ``from repro.astro.mergers import train, measure``;
the notebooks call the baselines through their module (``morphology.cv_classifier``) to say
which side of the comparison they are on. Importing the package imports neither TensorFlow
nor statmorph; the functions that need them import them when called.

Example
-------
>>> from repro.astro.mergers import balanced_error, morphology
>>> balanced_error([0, 0, 1, 1], [0, 1, 1, 1])
0.25
>>> morphology.CONSELICE_A
0.35
"""
from . import morphology, operating
from .batches import augment_batch, balanced_batches, class_weights, make_dataset
from .cli import SHIPPED_MODEL, main, predict
from .cnn import (
    ARM_LABELS,
    ARMS,
    WEIGHTS_DATASET,
    WEIGHTS_FILE,
    ModelError,
    TrainConfig,
    WeightsError,
    build_model,
    configure_threads,
    h5_layer_weights,
    kept_epochs,
    load_model,
    model_view,
    predict_proba,
    save_model,
    train,
    weights_path,
)
from .cross_validation import cv_splits, run_cv, subsample, train_val_split
from .images import (
    DATASET,
    IMAGE_SUFFIXES,
    ImageError,
    cached_images,
    center_crop,
    cnn_view,
    decode_jpeg,
    image_paths,
    load_images,
    load_labels,
    perturb,
    resize,
    select_sample,
)
from .morphology import (
    ALL_FEATURES,
    CONSELICE_A,
    FEATURE_LABELS,
    FEATURES,
    LOTZ_2004,
    LOTZ_2008,
    STATUS_OK,
    background,
    block_average,
    cached_measure,
    conselice_merger,
    cv_classifier,
    fit_classifier,
    lotz_merger,
    measure,
    measure_many,
    r_band,
    rule_scores,
    segment,
)
from .statistics import (
    METRICS,
    balanced_error,
    bootstrap_ci,
    confusion,
    error_rate,
    fold_metrics,
    mcnemar_test,
    paired_bootstrap_diff,
    paired_tests,
    roc_auc,
    summarize,
)

__all__ = [
    "morphology", "operating",
    # images
    "DATASET", "IMAGE_SUFFIXES", "ImageError", "load_labels", "select_sample", "decode_jpeg", "resize",
    "center_crop", "cnn_view", "load_images", "image_paths", "cached_images", "perturb",
    # batches
    "augment_batch", "balanced_batches", "make_dataset", "class_weights",
    # cnn
    "WEIGHTS_DATASET", "WEIGHTS_FILE", "ARMS", "ARM_LABELS", "WeightsError", "ModelError", "configure_threads",
    "weights_path", "build_model", "h5_layer_weights", "TrainConfig", "train", "kept_epochs", "predict_proba", "save_model",
    "model_view", "load_model",
    # cross_validation
    "cv_splits", "train_val_split", "subsample", "run_cv",
    # statistics
    "METRICS", "confusion", "error_rate", "balanced_error", "roc_auc", "bootstrap_ci", "summarize",
    "fold_metrics", "mcnemar_test", "paired_tests", "paired_bootstrap_diff",
    # morphology
    "FEATURES", "ALL_FEATURES", "FEATURE_LABELS", "LOTZ_2004", "LOTZ_2008", "CONSELICE_A", "STATUS_OK", "r_band",
    "block_average", "background", "segment", "measure", "measure_many", "cached_measure", "lotz_merger",
    "conselice_merger", "rule_scores", "fit_classifier", "cv_classifier",
    # cli
    "SHIPPED_MODEL", "predict", "main",
]
