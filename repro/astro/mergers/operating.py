"""The operating point of the shipped merger classifier, chosen and measured by cross-validation.

A probability threshold of 0.5 means something different for every trained network: on the
held-out folds of one full run their false-positive rates at 0.5 ranged from 0.09 to 0.35. The
classifier that ships with the record is therefore given a threshold for a stated operating
point, a false-positive rate ``target_fpr`` on non-mergers, and the rates a user should expect
from it, measured the way they would be met on new images:

1. for every cross-validation model (one per repeat and fold) its own threshold
   :func:`fpr_threshold`: the smallest score whose share of the model's held-out non-mergers
   strictly above it is at most ``target_fpr``;
2. the shipped threshold is the median of these (:func:`operating_point`);
3. the expected rates are cross-validated without touching the model they are measured on: each
   model's held-out images are classified with the median threshold of the *other* models, so
   the spread between models' calibrations (the reason for all this) is in the numbers. The
   card reports the mean over models and the range over models, an interval for the single new
   model that ships (which is one more draw of the same training);
4. the precision to expect follows from the rates and the share of mergers among the images
   the classifier is run on (:func:`precision`).

The epochs of the shipped model come from the same cross-validation: the median over the
transfer-arm models of the epochs each phase ran up to the weights it kept
(:func:`chosen_epochs`).

Example
-------
>>> import numpy as np, pandas as pd
>>> from repro.astro.mergers import operating
>>> operating.fpr_threshold(np.array([0.1, 0.2, 0.3, 0.4, 0.9]), 0.2)
0.4
>>> round(operating.precision(0.8, 0.1, 0.0575), 3)
0.329
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["fpr_threshold", "operating_point", "chosen_epochs", "precision", "model_card"]


def fpr_threshold(scores_negative: np.ndarray, target_fpr: float) -> float:
    """The smallest threshold whose false-positive rate (score > threshold) is at most ``target_fpr``.

    Parameters
    ----------
    scores_negative : array_like
        Scores (merger probabilities) of non-mergers.
    target_fpr : float
        Largest share of non-mergers that may score above the threshold, in [0, 1).

    Returns
    -------
    float
        One of the scores (or 1.0 when ``target_fpr`` allows no false positive above the top).

    Raises
    ------
    ValueError
        No scores, non-finite scores, or ``target_fpr`` outside [0, 1).
    """
    s = np.sort(np.asarray(scores_negative, dtype=float))
    if s.size == 0:
        raise ValueError("no non-merger scores to choose a threshold from")
    if not np.all(np.isfinite(s)):
        raise ValueError("non-finite scores")
    if not 0.0 <= target_fpr < 1.0:
        raise ValueError(f"target_fpr must be in [0, 1), got {target_fpr}")
    allowed = int(np.floor(target_fpr * s.size + 1e-9))   # non-mergers that may score above it
    return float(s[s.size - 1 - allowed])


def operating_point(preds: pd.DataFrame, target_fpr: float,
                    by: Sequence[str] = ("repeat", "fold")) -> tuple[float, pd.DataFrame]:
    """The shipped threshold and the cross-validated rates of every model at it.

    Parameters
    ----------
    preds : pandas.DataFrame
        Held-out predictions of one arm: ``y`` (1: merger), ``p_merger`` and the columns ``by``
        that name the model that scored each row.
    target_fpr : float
        The operating point: the false-positive rate on non-mergers.
    by : sequence of str
        Columns that identify a model.

    Returns
    -------
    threshold : float
        Median over models of :func:`fpr_threshold`.
    per_model : pandas.DataFrame
        One row per model: ``by``, ``own_threshold`` (its :func:`fpr_threshold`),
        ``others_threshold`` (median of the other models'), ``n_neg``, ``n_pos``, ``fpr`` and
        ``tpr`` of its held-out images at ``others_threshold``.

    Raises
    ------
    ValueError
        Fewer than two models, or a model without held-out non-mergers or mergers.
    """
    by = list(by)
    rows = []
    for key, g in preds.groupby(by, sort=True):
        y = g["y"].to_numpy(int)
        p = g["p_merger"].to_numpy(float)
        if (y == 0).sum() == 0 or (y == 1).sum() == 0:
            raise ValueError(f"model {key} has no held-out {'non-' if (y == 0).sum() == 0 else ''}mergers")
        rows.append({**dict(zip(by, np.atleast_1d(key))), "own_threshold": fpr_threshold(p[y == 0], target_fpr),
                     "_y": y, "_p": p})
    if len(rows) < 2:
        raise ValueError("the operating point needs at least two cross-validation models")
    own = np.array([r["own_threshold"] for r in rows])
    out = []
    for i, r in enumerate(rows):
        t = float(np.median(np.delete(own, i)))
        y, p = r.pop("_y"), r.pop("_p")
        out.append({**r, "others_threshold": t, "n_neg": int((y == 0).sum()), "n_pos": int((y == 1).sum()),
                    "fpr": float(np.mean(p[y == 0] > t)), "tpr": float(np.mean(p[y == 1] > t))})
    return float(np.median(own)), pd.DataFrame(out)


def chosen_epochs(kept: Sequence[dict]) -> dict[str, int]:
    """The epochs per phase of a final model: the median (rounded up) over cross-validation models.

    Parameters
    ----------
    kept : sequence of dict
        Per model, phase -> epochs up to its kept weights (:func:`repro.astro.mergers.kept_epochs`).

    Returns
    -------
    dict
        Phase -> epochs (at least 1 for every phase that some model trained).

    Example
    -------
    >>> chosen_epochs([{"head": 3, "finetune": 10}, {"head": 2, "finetune": 13}, {"head": 3, "finetune": 12}])
    {'head': 3, 'finetune': 12}
    """
    phases = sorted({k for d in kept for k in d}, key=lambda k: min(list(d).index(k) for d in kept if k in d))
    return {ph: max(1, int(np.ceil(np.median([d.get(ph, 0) for d in kept])))) for ph in phases}


def precision(tpr: float, fpr: float, merger_fraction: float) -> float:
    """Share of images flagged as mergers that are mergers, at a given share of mergers.

    Parameters
    ----------
    tpr, fpr : float
        True- and false-positive rates.
    merger_fraction : float
        Share of mergers among the images classified, in (0, 1).

    Returns
    -------
    float
        ``tpr f / (tpr f + fpr (1 - f))``; NaN when nothing is flagged.
    """
    if not 0.0 < merger_fraction < 1.0:
        raise ValueError(f"merger_fraction must be in (0, 1), got {merger_fraction}")
    flagged = tpr * merger_fraction + fpr * (1.0 - merger_fraction)
    return float(tpr * merger_fraction / flagged) if flagged > 0 else float("nan")


def model_card(threshold: float, per_model: pd.DataFrame, target_fpr: float, merger_fraction: float, *,
               trained_on: dict, epochs: dict, arm: str = "transfer") -> dict:
    """The card of the shipped classifier (the keys beside ``image_size`` and ``crop`` in its ``.json``).

    Parameters
    ----------
    threshold : float
        The operating threshold (:func:`operating_point`).
    per_model : pandas.DataFrame
        The cross-validated rates per model (:func:`operating_point`).
    target_fpr : float
        The stated operating point.
    merger_fraction : float
        Share of mergers in the data set (for the expected precision).
    trained_on : dict
        What data the model saw (data set, counts, labels).
    epochs : dict
        Phase -> epochs the model trained (:func:`chosen_epochs`).
    arm : str
        The arm of the model.

    Returns
    -------
    dict
        ``threshold``, ``operating_point``, ``expected_false_positive_rate`` and
        ``expected_true_positive_rate`` (each ``{"value", "interval", "interval_kind"}``),
        ``expected_precision`` (at ``merger_fraction``, from the rates' values and intervals),
        ``trained_on``, ``epochs``, ``arm``, ``how_measured``.
    """
    n = len(per_model)

    def rate(col):
        v = per_model[col].to_numpy(float)
        return {"value": round(float(v.mean()), 4), "interval": [round(float(v.min()), 4), round(float(v.max()), 4)],
                "interval_kind": f"range over the {n} cross-validation models"}

    fpr, tpr = rate("fpr"), rate("tpr")
    prec = precision(tpr["value"], fpr["value"], merger_fraction)
    lo = precision(tpr["interval"][0], fpr["interval"][1], merger_fraction)
    hi = precision(tpr["interval"][1], fpr["interval"][0], merger_fraction)
    return {
        "arm": arm,
        "threshold": round(float(threshold), 6),
        "operating_point": f"false-positive rate {target_fpr:g} on non-mergers",
        "expected_false_positive_rate": fpr,
        "expected_true_positive_rate": tpr,
        "expected_precision": {"value": round(prec, 4), "interval": [round(lo, 4), round(hi, 4)],
                               "merger_fraction": round(float(merger_fraction), 4),
                               "interval_kind": "from the rates' ranges (worst and best case)"},
        "epochs": {k: int(v) for k, v in epochs.items()},
        "trained_on": trained_on,
        "how_measured": ("threshold: median over the cross-validation models of the score that leaves "
                         f"{target_fpr:g} of each model's held-out non-mergers above it; rates: each model's "
                         "held-out images classified with the median threshold of the other models "
                         "(repro.astro.mergers.operating)"),
    }
