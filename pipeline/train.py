"""Training from a config: cross-validation on the gold set, then a final fit.

``train(config, out_dir)`` cross-validates the configured model kind (and the
baselines named in ``BASELINES``) with repeated stratified k-fold on the gold
files, adding the ``extra`` files to every training fold only, then fits on
everything and writes the model directory: the weights, ``config.yaml`` (the
resolved config), ``metrics.json`` and a model card ``README.md``.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .classifiers.base import Model, file_sha256, kind_class
from .config import ConfigError, SourceConfig, TrainConfig, dump_config
from .data import label_counts, labels_of, load_labelled
from .metrics import score
from .schema import LABELS
from .errors import NazarError, require

__all__ = ["build_model", "cross_validate", "load_data", "load_source", "train", "TrainError", "BASELINES"]

#: Metrics summarised over cross-validation repeats.
CV_METRICS: tuple[str, ...] = ("accuracy", "macro_f1", "weighted_f1", "f_avg")

#: Model kinds cross-validated beside the configured one, in the same folds.
BASELINES: tuple[str, ...] = ("majority", "tfidf")


class TrainError(NazarError, RuntimeError):
    """Training cannot start (bad data, existing output)."""


def build_model(config: TrainConfig, kind: str | None = None, params: dict | None = None) -> Model:
    """An unfitted model as the config describes (optionally another kind)."""
    kind = kind or config.model.kind
    if params is None:
        params = dict(config.model.params) if kind == config.model.kind else {}
    params.setdefault("seed", config.seed)
    return kind_class(kind)(normalizer=config.normalizer_config(), fields=config.data.fields,
                            name=config.name, version=config.version, **params)


def load_source(config: TrainConfig, source: str | SourceConfig) -> list[dict]:
    """Labelled records of one file as the config's data section says (fields, label mapping, sampling).

    A :class:`~pipeline.config.SourceConfig` brings its own fields, mapping and sample size; its
    records hold ``None`` for the config's other fields, so they train only its fields' heads.
    """
    d = config.data
    source = _as_source(source)
    fields = _source_fields(config, source)
    records = load_labelled(source.path, fields, source.labels or d.labels or None,
                            source.max_rows or d.max_rows, config.seed)
    unlabelled = {f: None for f in d.fields if f not in fields}
    return [{**r, **unlabelled} for r in records] if unlabelled else records


def load_data(config: TrainConfig, sources: Sequence[str | SourceConfig]) -> list[dict]:
    """The records of several files (see :func:`load_source`), concatenated."""
    return [r for source in sources for r in load_source(config, source)]


def _as_source(source: str | SourceConfig) -> SourceConfig:
    """A plain path is a source with no settings of its own."""
    return SourceConfig(path=source) if isinstance(source, str) else source


def _source_fields(config: TrainConfig, source: SourceConfig) -> tuple[str, ...]:
    """The fields a file labels, in the config's order."""
    return tuple(f for f in config.data.fields if f in (source.fields or config.data.fields))


def _file_info(config: TrainConfig, source: str | SourceConfig, records: list[dict]) -> dict:
    """What ``model.json`` records of a training file: path, digest, count and (if fewer) its fields."""
    source = _as_source(source)
    info = {"path": source.path, "sha256": file_sha256(source.path), "n": len(records)}
    fields = _source_fields(config, source)
    if fields != config.data.fields:
        info["fields"] = list(fields)
    return info


def _summary(values: np.ndarray) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def _bootstrap_samples(gold: dict, preds: dict[str, list[dict]], fields: Sequence[str], n_boot: int,
                       seed: int) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """``{kind: {field: {metric: samples}}}``: each metric averaged over the CV repeats, on
    ``n_boot`` resamples of the comments, the same resamples for every kind (so they pair)."""
    rng = np.random.default_rng(seed)
    n = len(next(iter(gold.values())))
    samples: dict[str, dict[str, dict[str, list[float]]]] = {k: {f: {} for f in fields} for k in preds}
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        g = {f: [gold[f][i] for i in idx] for f in fields}
        for kind, runs in preds.items():
            per_repeat = [score(g, {f: [p[f][i] for i in idx] for f in fields}, fields) for p in runs]
            for f in fields:
                for metric in CV_METRICS:
                    if metric in per_repeat[0][f]:
                        samples[kind][f].setdefault(metric, []).append(np.mean([r[f][metric] for r in per_repeat]))
    return {k: {f: {m: np.array(v) for m, v in ms.items()} for f, ms in fs.items()} for k, fs in samples.items()}


def _interval(values: np.ndarray) -> list[float]:
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def cross_validate(config: TrainConfig, gold: list[dict], extra: list[dict] = (),
                   kinds: Sequence[str] | None = None, n_boot: int = 1000,
                   progress: Callable[[str], None] | None = None) -> dict:
    """Repeated stratified k-fold CV; returns ``{kind: {field: metrics}}``.

    Each repeat yields one out-of-fold prediction per gold comment; the metrics
    are computed on those pooled predictions, then averaged over repeats
    (``mean``, ``std``) with a 95% bootstrap interval over comments (``ci95``).
    With several kinds, the first one's result also holds ``versus``:
    ``{other kind: {field: {metric: {delta, ci95, share_above_zero}}}}``, the
    difference first − other of the macro-F1 and F_avg, with its 95% interval on
    the same resamples of comments (paired). Folds are stratified on ``stance_domestic`` (else the first field).
    """
    from sklearn.model_selection import RepeatedStratifiedKFold

    cv = config.cv
    if cv is None:
        raise TrainError("the config has no cv section")
    fields = config.data.fields
    kinds = list(kinds or [config.model.kind])
    check_model_params(config)
    texts = [r["text"] for r in gold]
    strat_field = "stance_domestic" if "stance_domestic" in fields else fields[0]
    strat = np.array([r[strat_field] for r in gold])
    smallest = min(np.unique(strat, return_counts=True)[1])
    folds = min(cv.folds, len(gold))
    if smallest < folds:
        # Too few of a class to stratify on it: group the rare classes together.
        counts = {lab: int((strat == lab).sum()) for lab in np.unique(strat)}
        strat = np.array([s if counts[s] >= folds else "_rare" for s in strat])
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=cv.repeats, random_state=cv.seed)
    gold_labels = labels_of(gold, fields)
    extra_texts = [r["text"] for r in extra]
    extra_labels = labels_of(extra, fields)
    preds: dict[str, list[dict]] = {k: [] for k in kinds}
    timings: dict[str, float] = {k: 0.0 for k in kinds}
    current: dict[str, dict] = {}
    splits = list(splitter.split(np.zeros(len(gold)), strat))
    started = time.perf_counter()
    for i, (tr, te) in enumerate(splits):
        if i % folds == 0:
            current = {k: {f: [None] * len(gold) for f in fields} for k in kinds}
        train_texts = [texts[j] for j in tr] + extra_texts
        train_y = {f: [gold_labels[f][j] for j in tr] + extra_labels[f] for f in fields}
        for kind in kinds:
            t0 = time.perf_counter()
            model = build_model(config, kind).fit(train_texts, train_y)
            fold_pred = model.predict([texts[j] for j in te])
            timings[kind] += time.perf_counter() - t0
            for f in fields:
                for j, lab in zip(te, fold_pred[f]):
                    current[kind][f][j] = lab
        if progress:
            progress(fold_progress(i + 1, len(splits), folds, time.perf_counter() - started))
        if i % folds == folds - 1:
            for kind in kinds:
                preds[kind].append(current[kind])
    samples = _bootstrap_samples(gold_labels, preds, fields, n_boot, cv.seed)
    out = {}
    for kind in kinds:
        per_repeat = [score(gold_labels, p, fields) for p in preds[kind]]
        res = {}
        for f in fields:
            res[f] = {"n": len(gold)}
            for metric in CV_METRICS:
                if metric in per_repeat[0][f]:
                    res[f][metric] = {**_summary(np.array([r[f][metric] for r in per_repeat])),
                                      "ci95": _interval(samples[kind][f][metric])}
        out[kind] = {"fields": res, "seconds": round(timings[kind], 2)}
    # The first kind against each other one, paired on the same comments and resamples.
    main = kinds[0]
    versus = {}
    for other in kinds[1:]:
        versus[other] = {}
        for f in fields:
            versus[other][f] = {}
            for metric in ("macro_f1", "f_avg"):
                if metric in out[main]["fields"][f] and metric in out[other]["fields"][f]:
                    delta = out[main]["fields"][f][metric]["mean"] - out[other]["fields"][f][metric]["mean"]
                    diffs = samples[main][f][metric] - samples[other][f][metric]
                    versus[other][f][metric] = {"delta": float(delta), "ci95": _interval(diffs),
                                                "share_above_zero": float(np.mean(diffs > 0))}
    if versus:
        out[main]["versus"] = versus
    return out


#: What each field means, for the model card.
FIELD_MEANING = {"stance_domestic": "stance toward Iran's domestic messengers",
                 "stance_telegram": "stance toward Telegram", "sentiment": "sentiment"}
#: A class with fewer gold comments than this is called out in the card's limits.
RARE_CLASS = 10


def _card_limits(config: TrainConfig, n_gold: int, gold_counts: dict, train_counts: dict,
                 cv_run: bool) -> list[str]:
    """The card's limits: what the data shows (size, rare and missing classes), then the config's own."""
    out = []
    if cv_run:
        out.append(f"The figures above come from cross-validation on {n_gold} gold comments; "
                   "their intervals show how far they can move.")
    else:
        out.append("No cross-validated figures: score the model on labelled comments it did not see "
                   "with `nazar evaluate --gold FILE --model DIR`.")
    for f, counts in gold_counts.items():
        rare = [(lab, n) for lab, n in counts.items() if 0 < n < RARE_CLASS]
        if len(rare) == 1:
            lab, n = rare[0]
            out.append(f"`{f}` {lab}: {n} gold comment{'s' if n > 1 else ''}, so its figures are poorly estimated.")
        elif rare:
            listed = [f"{lab} {n}" for lab, n in rare]
            out.append(f"`{f}`: {', '.join(listed[:-1])} and {listed[-1]} gold comments, so their figures are "
                       "poorly estimated.")
        for lab, n in counts.items():
            if n == 0 and train_counts[f][lab] == 0:
                out.append(f"`{f}` {lab}: no training comment has this label, so the model never predicts it.")
            elif n == 0:
                out.append(f"`{f}` {lab}: only the extra files hold this label ({train_counts[f][lab]} "
                           "comments), so cross-validation cannot measure it.")
    out.append("Metrics of a model scored on the comments it was trained on are optimistic: use the "
               "cross-validated figures or a held-out set.")
    return out + [f"{item} (from the config's `card.limits`)" for item in config.card.limits]


def _model_card(config: TrainConfig, model: Model, n_gold: int, counts: dict, train_counts: dict,
                cv_result: dict | None, files: dict, seconds: float) -> str:
    fields = list(counts)
    described = [f"{FIELD_MEANING[f]} (`{f}`: {'/'.join(LABELS[f])})" for f in fields]
    listing = described[0] if len(described) == 1 else ", ".join(described[:-1]) + " and " + described[-1]
    lines = [f"# Model card: {config.name} {config.version}", "",
             f"Kind: `{model.kind}`. Labels the {listing} of a Persian comment.",
             "", "## Training data", ""]
    for role, entries in files.items():
        for e in entries:
            heads = e.get("fields", [])
            only = f"; trains only the {' and '.join(heads)} head{'s' if len(heads) > 1 else ''}" if heads else ""
            lines.append(f"- {role}: `{e['path']}` ({e['n']} comments{only})")
    lines += ["", "Label counts in the gold files:", ""]
    for f, c in counts.items():
        lines.append(f"- {f}: " + ", ".join(f"{lab} {n}" for lab, n in c.items()))
    lines += ["", "## Metrics", ""]
    if cv_result:
        cv = config.cv
        lines += [f"{cv.repeats} × repeated {cv.folds}-fold cross-validation on the gold files "
                  "(extra files only ever in training folds). Mean over repeats, with a 95% bootstrap "
                  "interval over comments.", "",
                  "| model | field | accuracy | macro-F1 | F_avg |", "|---|---|---|---|---|"]

        def cell(m, key):
            if key not in m:
                return "-"
            lo, hi = m[key]["ci95"]
            return f"{m[key]['mean']:.3f} [{lo:.3f}, {hi:.3f}]"

        for kind, res in cv_result.items():
            for f, m in res["fields"].items():
                lines.append(f"| {kind} | {f} | {cell(m, 'accuracy')} | {cell(m, 'macro_f1')} | {cell(m, 'f_avg')} |")
        main = next(iter(cv_result))
        versus = cv_result[main].get("versus", {})
        if versus:
            lines += ["", f"Difference in macro-F1, `{main}` minus each baseline, in the same folds and on the "
                      "same bootstrap resamples of comments (paired): mean, 95% interval, and the share of "
                      "resamples in which it is above zero.", "",
                      "| baseline | field | difference | share > 0 |", "|---|---|---|---|"]
            for other, per_field in versus.items():
                for f, d in per_field.items():
                    lo, hi = d["macro_f1"]["ci95"]
                    lines.append(f"| {other} | {f} | {d['macro_f1']['delta']:+.3f} [{lo:+.3f}, {hi:+.3f}] | "
                                 f"{d['macro_f1']['share_above_zero']:.2f} |")
    else:
        lines.append("No cross-validation was run (the config has no `cv` section).")
    use = config.card.intended_use or (
        "Batch labelling of Persian comments with `nazar label`, for research and analysis. Aggregate "
        "figures are more trustworthy than single labels; check a sample by hand before drawing conclusions.")
    lines += ["", "## Intended use", "", use, "", "## Limits", ""]
    lines += [f"- {item}" for item in _card_limits(config, n_gold, counts, train_counts, cv_result is not None)]
    lines += ["", f"Trained in {seconds:.1f} s. Resolved config: `config.yaml`; metrics: `metrics.json`.", ""]
    return "\n".join(lines)


def check_output_dir(out_dir: Path, force: bool) -> None:
    """Refuse to write over anything but an empty directory, or (with ``force``) a nazar model directory."""
    if out_dir.is_symlink():
        raise TrainError(f"{out_dir} is a link; write the model to a real directory")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise TrainError(f"{out_dir} exists and is not a directory; choose another output with -o DIR")
    if not any(out_dir.iterdir()):
        return
    if not force:
        raise TrainError(f"{out_dir} exists and is not empty; pass --force to replace it")
    if not (out_dir / "model.json").is_file():
        raise TrainError(f"{out_dir} is not a nazar model directory (no model.json), so --force does not "
                         f"replace it; choose another output with -o DIR, or move it away yourself")


def check_model_params(config: TrainConfig) -> None:
    """Build the config's model and check its ``model.params``, before any data is read: an unknown
    name or a bad value is a :class:`~pipeline.config.ConfigError`, not a failure halfway through a fit."""
    from .classifiers.base import ModelError

    try:
        build_model(config).check_params()
    except (ValueError, TypeError, ModelError) as exc:
        raise ConfigError(f"model.params: {exc}") from None


def fold_progress(done: int, total: int, folds: int, elapsed: float) -> str:
    """One progress line of cross-validation: which fold, time so far and the estimated time left."""
    left = elapsed / done * (total - done)
    repeat, fold = (done - 1) // folds + 1, (done - 1) % folds + 1
    return (f"cv fold {fold}/{folds} of repeat {repeat}/{total // folds} ({done}/{total} fits done): "
            f"{_duration(elapsed)} elapsed, ETA {_duration(left)}")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _stderr_log(msg: str) -> None:
    """Print a message on standard error; on a terminal, cv progress lines redraw one line."""
    tty = sys.stderr.isatty()
    if msg.startswith("cv fold "):
        end = "" if tty else "\n"
        print(("\r\x1b[K" if tty else "") + msg, end=end, file=sys.stderr, flush=True)
        _stderr_log.open_line = tty
        return
    if getattr(_stderr_log, "open_line", False):
        print(file=sys.stderr)
        _stderr_log.open_line = False
    print(msg, file=sys.stderr)


def train(config: TrainConfig, out_dir: str | Path, force: bool = False, run_cv: bool = True,
          baselines: Sequence[str] = BASELINES, log: Callable[[str], None] | None = None) -> tuple[Model, dict]:
    """Cross-validate (if configured), fit on all data and save into ``out_dir``.

    Returns the fitted model and the metrics written to ``metrics.json``.
    Refuses to write into a non-empty ``out_dir`` unless ``force``.
    """
    log = log or _stderr_log
    out_dir = Path(out_dir)
    check_output_dir(out_dir, force)
    for module in kind_class(config.model.kind).requires:
        require(module, f"the {config.model.kind} model kind")
    check_model_params(config)
    t0 = time.perf_counter()
    fields = config.data.fields
    parts = {role: [(source, load_source(config, source)) for source in sources]
             for role, sources in (("gold", config.data.gold), ("extra", config.data.extra))}
    gold = [r for _, records in parts["gold"] for r in records]
    extra = [r for _, records in parts["extra"] for r in records]
    log(f"training {config.model.kind} model {config.name!r} on {len(gold)} gold + {len(extra)} extra comments")
    metrics: dict = {"name": config.name, "version": config.version, "kind": config.model.kind,
                     "data": {"gold": len(gold), "extra": len(extra)}}
    cv_result = None
    if run_cv and config.cv is not None:
        kinds = [config.model.kind] + [b for b in baselines if b != config.model.kind]
        cv_result = cross_validate(config, gold, extra, kinds=kinds, progress=log)
        metrics["cv"] = {"folds": config.cv.folds, "repeats": config.cv.repeats, "results": cv_result}
    texts = [r["text"] for r in gold + extra]
    model = build_model(config).fit(texts, labels_of(gold + extra, fields))
    model.training_info = {role: [_file_info(config, s, records) for s, records in role_parts]
                           for role, role_parts in parts.items()}
    seconds = time.perf_counter() - t0
    metrics["train_seconds"] = round(seconds, 2)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()  # with the user's umask, like any directory they make
    except OSError as exc:
        raise TrainError(f"cannot create the model directory {out_dir}: {exc.strerror or exc}") from None
    try:
        model.save(tmp)
        (tmp / "config.yaml").write_text(dump_config(config), encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        files = {"gold": model.training_info["gold"], "extra (training only)": model.training_info["extra"]}
        card = _model_card(config, model, len(gold), label_counts(gold, fields),
                           label_counts(gold + extra, fields), cv_result, files, seconds)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        check_output_dir(out_dir, force)  # again: it may have changed while training
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"saved to {out_dir} in {seconds:.1f} s")
    return model, metrics
