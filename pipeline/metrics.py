"""Point metrics and their uncertainty, from gold and predicted labels.

Per field: ``n``, ``accuracy``, ``macro_f1`` (over the labels that occur in gold
or predictions), ``weighted_f1`` (F1 per label weighted by its gold count),
for the stance fields SemEval-2016's ``f_avg`` (mean F1 of FAVOR and AGAINST),
``per_class`` precision / recall / F1 / support, the ``confusion`` matrix
(rows gold, columns predicted, in :data:`pipeline.schema.LABELS` order); bootstrap
intervals over comments, paired-bootstrap comparisons, calibration and Cohen's kappa.
Nothing here reads files or renders: :mod:`pipeline.evaluate` runs models and
:mod:`pipeline.tables` and :mod:`pipeline.evaluate` show the results.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .schema import FAVOR_AGAINST, FIELDS, LABELS, STANCE_FIELDS

__all__ = ["field_metrics", "score", "bootstrap_ci", "paired_bootstrap", "calibration", "confusion_matrix",
           "cohen_kappa", "fleiss_kappa_table", "krippendorff_alpha_table", "agreement_stats", "BOOTSTRAP_METRICS",
           "boot_weights", "weighted_boot_metrics"]


#: Metrics that get bootstrap intervals and paired comparisons.
BOOTSTRAP_METRICS: tuple[str, ...] = ("accuracy", "macro_f1", "weighted_f1", "f_avg")


def _codes(labels: Sequence[str], field_name: str) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(LABELS[field_name])}
    try:
        return np.fromiter((index[lab] for lab in labels), dtype=np.int64, count=len(labels))
    except KeyError as exc:
        raise ValueError(f"{field_name}: unknown label {exc.args[0]!r}; expected "
                         f"{'/'.join(LABELS[field_name])}") from None


def confusion_matrix(gold: Sequence[str], pred: Sequence[str], field_name: str) -> np.ndarray:
    """Counts ``[gold label, predicted label]`` in ``LABELS[field_name]`` order."""
    k = len(LABELS[field_name])
    codes = _codes(list(gold), field_name) * k + _codes(list(pred), field_name)
    return np.bincount(codes, minlength=k * k).reshape(k, k)


def _from_confusion(cm: np.ndarray, field_name: str) -> dict[str, np.ndarray]:
    """Vectorised metrics of a stack of confusion matrices ``(..., k, k)``."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    gold_n = cm.sum(axis=-1)
    pred_n = cm.sum(axis=-2)
    n = cm.sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(tp > 0, 2 * tp / (gold_n + pred_n), 0.0)
        present = (gold_n + pred_n) > 0
        out = {
            "accuracy": tp.sum(axis=-1) / n,
            "macro_f1": (f1 * present).sum(axis=-1) / present.sum(axis=-1),
            "weighted_f1": (f1 * gold_n).sum(axis=-1) / n,
        }
    if field_name in STANCE_FIELDS:
        idx = [LABELS[field_name].index(lab) for lab in FAVOR_AGAINST]
        out["f_avg"] = f1[..., idx].mean(axis=-1)
    out["_f1"] = f1
    out["_tp"], out["_gold"], out["_pred"] = tp, gold_n, pred_n
    return out


def field_metrics(gold: Sequence[str], pred: Sequence[str], field_name: str) -> dict:
    """Metrics of one field; ``gold`` and ``pred`` are equal-length label lists."""
    if len(gold) != len(pred):
        raise ValueError(f"{field_name}: {len(gold)} gold labels but {len(pred)} predictions")
    n = len(gold)
    out: dict = {"n": n}
    if n == 0:
        out.update(accuracy=float("nan"), macro_f1=float("nan"), weighted_f1=float("nan"))
        if field_name in STANCE_FIELDS:
            out["f_avg"] = float("nan")
        return out
    cm = confusion_matrix(gold, pred, field_name)
    m = _from_confusion(cm, field_name)
    for key in BOOTSTRAP_METRICS:
        if key in m:
            out[key] = float(m[key])
    labels = LABELS[field_name]
    out["f1"] = {lab: float(m["_f1"][i]) for i, lab in enumerate(labels)}
    per = {}
    for i, lab in enumerate(labels):
        tp, g, p = m["_tp"][i], m["_gold"][i], m["_pred"][i]
        per[lab] = {"precision": float(tp / p) if p else 0.0, "recall": float(tp / g) if g else 0.0,
                    "f1": float(m["_f1"][i]), "support": int(g)}
    out["per_class"] = per
    out["confusion"] = {"labels": list(labels), "matrix": cm.tolist()}
    return out


def score(gold: Mapping[str, Sequence[str]], pred: Mapping[str, Sequence[str]],
          fields: Sequence[str] = FIELDS) -> dict[str, dict]:
    """Metrics for each field present in both ``gold`` and ``pred``."""
    return {f: field_metrics(list(gold[f]), list(pred[f]), f) for f in fields if f in gold and f in pred}


def boot_weights(n: int, n_boot: int, seed: int, groups: Sequence | None = None) -> np.ndarray:
    """How many times each of ``n`` comments is drawn in each of ``n_boot`` resamples, ``(n_boot, n)``.

    Without ``groups`` comments are drawn with replacement; with ``groups`` (one key per comment:
    a page, a thread) whole groups are, so comments that share a page stay together and the
    interval allows for how alike they are (a cluster bootstrap).
    """
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, n, size=(n_boot, n))
        return _counts(idx, n)
    keys, inverse = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
    drawn = _counts(rng.integers(0, len(keys), size=(n_boot, len(keys))), len(keys))
    return drawn[:, inverse]


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    offsets = (np.arange(idx.shape[0]) * n)[:, None]
    return np.bincount((idx + offsets).ravel(), minlength=idx.shape[0] * n).reshape(-1, n)


def weighted_boot_metrics(gold: Sequence[str], pred: Sequence[str], field_name: str,
                          weights: np.ndarray) -> dict[str, np.ndarray]:
    """The metrics on each resample that ``weights`` (see :func:`boot_weights`) describes."""
    k = len(LABELS[field_name])
    codes = _codes(list(gold), field_name) * k + _codes(list(pred), field_name)
    b = weights.shape[0]
    flat = (codes[None, :] + (np.arange(b) * k * k)[:, None]).ravel()
    cm = np.bincount(flat, weights=weights.ravel().astype(np.float64), minlength=b * k * k).reshape(b, k, k)
    m = _from_confusion(cm, field_name)
    return {key: m[key] for key in BOOTSTRAP_METRICS if key in m}


def bootstrap_ci(gold: Sequence[str], pred: Sequence[str], field_name: str, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, list[float]]:
    """95% percentile intervals ``{metric: [low, high]}`` over comments resampled with replacement."""
    if not len(gold):
        return {}
    samples = weighted_boot_metrics(gold, pred, field_name, boot_weights(len(gold), n_boot, seed))
    return {key: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))] for key, v in samples.items()}


def paired_bootstrap(gold: Sequence[str], pred_a: Sequence[str], pred_b: Sequence[str], field_name: str,
                     n_boot: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Difference A − B of each metric on the same resamples of comments.

    Returns ``{metric: {"delta", "ci95", "p_value"}}``. The p-value is
    two-sided, for the null hypothesis of no difference: the share of
    resampled differences, centred on the observed one, at least as far from
    zero as the observed difference (with add-one smoothing, so never 0).
    """
    n = len(gold)
    if n == 0:
        return {}
    weights = boot_weights(n, n_boot, seed)
    point_a, point_b = field_metrics(gold, pred_a, field_name), field_metrics(gold, pred_b, field_name)
    sa = weighted_boot_metrics(gold, pred_a, field_name, weights)
    sb = weighted_boot_metrics(gold, pred_b, field_name, weights)
    out = {}
    for key in sa:
        delta = point_a[key] - point_b[key]
        diffs = sa[key] - sb[key]
        diffs = diffs[~np.isnan(diffs)]
        extreme = np.sum(np.abs(diffs - delta) >= abs(delta) - 1e-12)
        out[key] = {"delta": float(delta),
                    "ci95": [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))],
                    "p_value": float((extreme + 1) / (len(diffs) + 1))}
    return out


def calibration(gold: Sequence[str], proba: np.ndarray, field_name: str, n_bins: int = 10) -> dict:
    """Expected calibration error of the top-label probability, with its reliability bins.

    Comments are put in ``n_bins`` equal-width bins of the predicted label's
    probability; ECE is the mean over comments of |accuracy − confidence| of
    their bin. Each bin: ``lo``, ``hi``, ``n``, ``confidence``, ``accuracy``.
    """
    proba = np.asarray(proba, dtype=np.float64)
    g = _codes(list(gold), field_name)
    if len(g) == 0:
        return {"ece": float("nan"), "bins": []}
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == g).astype(np.float64)
    which = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        mask = which == b
        cnt = int(mask.sum())
        if cnt:
            acc, c = float(correct[mask].mean()), float(conf[mask].mean())
            ece += cnt / len(g) * abs(acc - c)
            bins.append({"lo": b / n_bins, "hi": (b + 1) / n_bins, "n": cnt, "confidence": c, "accuracy": acc})
    return {"ece": float(ece), "bins": bins}


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two label lists (1.0 when both use one identical label throughout)."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} labels against {len(b)}")
    n = len(a)
    if n == 0:
        return float("nan")
    labels = sorted(set(a) | set(b))
    observed = sum(x == y for x, y in zip(a, b)) / n
    expected = sum((list(a).count(lab) / n) * (list(b).count(lab) / n) for lab in labels)
    if expected == 1.0:
        return 1.0
    return (observed - expected) / (1 - expected)


def _count_table(units: Sequence[Sequence[str | None]], labels: Sequence[str]) -> np.ndarray:
    """Per unit, how many raters gave each label (``None`` = not rated)."""
    index = {lab: k for k, lab in enumerate(labels)}
    table = np.zeros((len(units), len(labels)))
    for i, unit in enumerate(units):
        for lab in unit:
            if lab is not None:
                table[i, index[lab]] += 1
    return table


def fleiss_kappa_table(table: np.ndarray) -> float:
    """Fleiss' kappa of a units × labels count table (every unit rated by the same number of raters)."""
    table = np.asarray(table, dtype=np.float64)
    n = table.sum(axis=1)
    if len(table) == 0 or n.min() < 2 or n.max() != n.min():
        return float("nan")
    m = n[0]
    p_unit = ((table * (table - 1)).sum(axis=1)) / (m * (m - 1))
    shares = table.sum(axis=0) / table.sum()
    expected = float((shares ** 2).sum())
    observed = float(p_unit.mean())
    return 1.0 if expected == 1.0 else (observed - expected) / (1 - expected)


def krippendorff_alpha_table(table: np.ndarray) -> float:
    """Krippendorff's alpha (nominal) of a units × labels count table; units rated once are left out."""
    table = np.asarray(table, dtype=np.float64)
    m = table.sum(axis=1)
    table, m = table[m >= 2], m[m >= 2]
    if len(table) == 0:
        return float("nan")
    # The coincidence matrix's diagonal and margins are all nominal alpha needs.
    agree = float((table * (table - 1) / (m - 1)[:, None]).sum())
    margins = table.sum(axis=0)
    total = float(margins.sum())
    expected = float((margins * (margins - 1)).sum()) / (total - 1)
    observed_dis, expected_dis = total - agree, total - expected
    if expected_dis == 0:
        return 1.0
    return 1.0 - observed_dis / expected_dis


def agreement_stats(units: Sequence[Sequence[str | None]], labels: Sequence[str], n_boot: int = 1000,
                    seed: int = 0) -> dict:
    """Agreement of several raters on nominal labels: one list per unit (``None`` where a rater gave none).

    Returns ``n`` (units rated at least twice), ``agreement`` (share of those where all raters
    agree), ``alpha`` (Krippendorff's, nominal), ``kappa`` — Cohen's for two raters, Fleiss'
    for more (over the units every rater rated) — and a 95% bootstrap interval over units for
    each (``*_ci95``).
    """
    units = [list(u) for u in units]
    raters = max((len(u) for u in units), default=0)
    table = _count_table(units, labels)
    rated = table.sum(axis=1)
    multi = rated >= 2
    full = rated == raters
    if raters == 2:
        pairs = [(u[0], u[1]) for u, ok in zip(units, full) if ok]

        def kappa(idx):
            if len(idx) == 0:
                return float("nan")
            return cohen_kappa([pairs[i][0] for i in idx], [pairs[i][1] for i in idx])
        k_units = len(pairs)
    else:
        full_table = table[full]

        def kappa(idx):
            return fleiss_kappa_table(full_table[idx])
        k_units = int(full.sum())
    multi_table = table[multi]
    same = (multi_table.max(axis=1) == multi_table.sum(axis=1)) if len(multi_table) else np.zeros(0, bool)

    def stats(idx_multi, idx_full):
        return (float(same[idx_multi].mean()) if len(idx_multi) else float("nan"),
                krippendorff_alpha_table(multi_table[idx_multi]), kappa(idx_full))

    point = stats(np.arange(len(multi_table)), np.arange(k_units))
    rng = np.random.default_rng(seed)
    boots = []
    if len(multi_table) > 1 and n_boot:
        # Resample units; the full-rating units are resampled within themselves.
        for _ in range(n_boot):
            a = rng.integers(0, len(multi_table), len(multi_table))
            b = rng.integers(0, k_units, k_units) if k_units else np.zeros(0, int)
            boots.append(stats(a, b))
    boots = np.array(boots, dtype=np.float64) if boots else np.full((0, 3), np.nan)

    def ci(k):
        col = boots[:, k][np.isfinite(boots[:, k])] if len(boots) else np.zeros(0)
        return [float(np.percentile(col, 2.5)), float(np.percentile(col, 97.5))] if len(col) else [float("nan")] * 2

    return {"n": int(multi.sum()), "raters": raters, "agreement": point[0], "agreement_ci95": ci(0),
            "alpha": point[1], "alpha_ci95": ci(1), "kappa": point[2], "kappa_ci95": ci(2),
            "kappa_kind": "cohen" if raters == 2 else "fleiss", "kappa_n": k_units}
