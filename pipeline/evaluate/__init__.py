"""Evaluation: models (or saved predictions) scored on labelled comments, and the report of it.

:func:`evaluate` scores one or more models (or saved predictions, :class:`SavedPredictions`) on
the same comments, beside the majority-class and keyword baselines: the metrics of
:mod:`pipeline.metrics` per field, 95% bootstrap intervals over comments (``ci95``), the expected
calibration error of the top-label probability (``ece``, with the ``reliability`` bins), and
paired-bootstrap comparisons between systems (``comparisons``: the difference of a metric, its
95% interval and a two-sided p-value). Every system is resampled with the same comment indices,
so differences are paired.

Modules: :mod:`~pipeline.evaluate.scoring` (:func:`evaluate`, :func:`breakdown`),
:mod:`~pipeline.evaluate.predictions` (:class:`SavedPredictions`), :mod:`~pipeline.evaluate.report`
(:class:`Report`: text, JSON, Markdown), :mod:`~pipeline.evaluate.html_report` (the HTML page),
:mod:`~pipeline.evaluate.benchmark` (the sentiment head on external corpora),
:mod:`~pipeline.evaluate.behaviour` (behavioural tests). The metric functions are re-exported here
for convenience.
"""
from ..data import group_value
from ..metrics import (BOOTSTRAP_METRICS, bootstrap_ci, calibration, cohen_kappa, confusion_matrix, field_metrics,
                       paired_bootstrap, score)
from .predictions import SavedPredictions
from .report import Report
from .scoring import EvaluationError, breakdown, default_baselines, evaluate, evaluate_model

__all__ = ["field_metrics", "score", "Report", "evaluate", "evaluate_model", "bootstrap_ci",
           "paired_bootstrap", "calibration", "confusion_matrix", "cohen_kappa", "BOOTSTRAP_METRICS",
           "SavedPredictions", "breakdown", "default_baselines",
           "group_value", "EvaluationError"]
