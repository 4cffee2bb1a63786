"""Training from a config: cross-validation on the gold set, then a final fit.

``train(config, out_dir)`` cross-validates the configured model kind (and the
baselines named in ``BASELINES``) with repeated stratified k-fold on the gold
files (grouped by ``cv.group_by`` when set, each gold file also scored on its own),
adding the ``extra`` files to every training fold only, then fits on
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
from typing import Callable, Mapping, Sequence

import numpy as np

from .classifiers.base import Model, file_sha256, kind_class
from .config import ConfigError, SourceConfig, TrainConfig, dump_config
from .data import MISSING_VALUE, group_value, label_counts, labels_of, load_labelled, strata, text_digest
from .metrics import boot_weights, score, weighted_boot_metrics
from .schema import LABELS, STANCE_FIELDS
from .tables import CV_HEADER, VERSUS_HEADER, cv_rows, versus_rows
from .errors import NazarError, require

__all__ = ["build_model", "cross_validate", "load_data", "load_gold", "load_source", "train", "TrainError",
           "BASELINES"]

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
    if not Path(source.path).exists():
        role = "data.gold" if source.path in d.gold else "data.extra"
        raise TrainError(f"{source.path}: no such file (named in the config's {role}; paths are read from the "
                         f"current directory: run from the repository root, or leave the file out with "
                         f"--set \"{role}=[...]\")")
    fields = _source_fields(config, source)
    records = load_labelled(source.path, fields, source.labels or d.labels or None,
                            source.max_rows or d.max_rows, config.seed)
    unlabelled = {f: None for f in d.fields if f not in fields}
    return [{**r, **unlabelled} for r in records] if unlabelled else records


def load_data(config: TrainConfig, sources: Sequence[str | SourceConfig]) -> list[dict]:
    """The records of several files (see :func:`load_source`), concatenated."""
    return [r for source in sources for r in load_source(config, source)]


def load_gold(config: TrainConfig, files: Sequence[str] | None = None) -> tuple[list[dict], list[str]]:
    """The gold records of ``files`` (default: the config's ``data.gold``), and beside each the path
    of the file it came from, which :func:`cross_validate` reports on its own (``sources``)."""
    parts = [(path, load_source(config, path)) for path in (files or config.data.gold)]
    return ([r for _, records in parts for r in records], [path for path, records in parts for _ in records])


def _as_source(source: str | SourceConfig) -> SourceConfig:
    """A plain path is a source with no settings of its own."""
    return SourceConfig(path=source) if isinstance(source, str) else source


def _source_fields(config: TrainConfig, source: SourceConfig) -> tuple[str, ...]:
    """The fields a file labels, in the config's order."""
    return tuple(f for f in config.data.fields if f in (source.fields or config.data.fields))


def _file_info(config: TrainConfig, source: str | SourceConfig, records: list[dict]) -> dict:
    """What ``model.json`` records of a training file: path, digest, count, (if fewer) its fields and,
    for a sampled file (``max_rows``), the digests of the texts sampled (see :func:`pipeline.data.text_digest`)."""
    source = _as_source(source)
    info = {"path": source.path, "sha256": file_sha256(source.path), "n": len(records)}
    fields = _source_fields(config, source)
    if fields != config.data.fields:
        info["fields"] = list(fields)
    if (source.max_rows or config.data.max_rows) is not None:
        info["sampled"] = sorted({text_digest(r["text"]) for r in records})
    return info


def _summary(values: np.ndarray) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def _bootstrap_samples(gold: dict, preds: dict[str, list[dict]], fields: Sequence[str], weights: np.ndarray,
                       subset: np.ndarray | None = None) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """``{kind: {field: {metric: samples}}}``: each metric averaged over the CV repeats, on the
    resamples ``weights`` describes (:func:`~pipeline.metrics.boot_weights`: one column per comment
    of ``subset``, or of all), the same for every kind (so they pair); ``subset`` limits it to some
    comments (one source's)."""
    sel = np.arange(len(next(iter(gold.values())))) if subset is None else subset
    w = weights if weights.shape[1] == len(sel) else weights[:, sel]
    out: dict = {}
    for kind, runs in preds.items():
        out[kind] = {}
        for f in fields:
            g = [gold[f][i] for i in sel]
            per_repeat = [weighted_boot_metrics(g, [p[f][i] for i in sel], f, w) for p in runs]
            out[kind][f] = {m: np.nanmean([r[m] for r in per_repeat], axis=0)
                            for m in CV_METRICS if m in per_repeat[0]}
    return out


def _interval(values: np.ndarray) -> list[float]:
    values = values[~np.isnan(values)]
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def _cv_splits(cv, gold: list[dict], fields: Sequence[str], groups: list[str] | None) -> list[tuple]:
    """The train/test index pairs of every fold of every repeat, stratified on the stance labels
    (rare combinations pooled); with ``groups``, no group is split between folds."""
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

    stance = [f for f in STANCE_FIELDS if f in fields] or [fields[0]]
    folds = min(cv.folds, len(gold))
    # Too few of a class to stratify on it: the rare classes are pooled together.
    strat = strata(["|".join(str(r[f]) for f in stance) for r in gold], folds)
    if groups is None:
        splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=cv.repeats, random_state=cv.seed)
        return list(splitter.split(np.zeros(len(gold)), strat))
    n_groups = len(set(groups))
    if n_groups < folds:
        raise TrainError(f"cv.group_by {cv.group_by!r}: the gold records fall in {n_groups} group(s), fewer "
                         f"than the {folds} folds; lower cv.folds or group by another field")
    out = []
    for r in range(cv.repeats):
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=cv.seed + r)
        out += list(splitter.split(np.zeros(len(gold)), strat, groups))
    return out


def cv_groups(gold: Sequence[dict], group_by: str | None) -> list[str] | None:
    """One group key per gold record: its ``group_by`` value; a record without one is its own group."""
    if group_by is None:
        return None
    keys = [group_value(r, group_by) for r in gold]
    if all(k == MISSING_VALUE for k in keys):
        raise TrainError(f"cv.group_by {group_by!r}: no gold record has that field")
    return [k if k != MISSING_VALUE else f"\0record-{i}" for i, k in enumerate(keys)]


def _summarise(gold_labels: dict, preds: list[dict], fields: Sequence[str], samples: dict,
               subset: np.ndarray | None = None) -> dict:
    """Per field: ``n`` and each metric's mean and std over repeats with its bootstrap interval."""
    sel = np.arange(len(gold_labels[fields[0]])) if subset is None else subset
    g = {f: [gold_labels[f][i] for i in sel] for f in fields}
    per_repeat = [score(g, {f: [p[f][i] for i in sel] for f in fields}, fields) for p in preds]
    res = {}
    for f in fields:
        res[f] = {"n": len(sel)}
        for metric in CV_METRICS:
            if metric in per_repeat[0][f]:
                res[f][metric] = {**_summary(np.array([r[f][metric] for r in per_repeat])),
                                  "ci95": _interval(samples[f][metric])}
        if f in STANCE_FIELDS:
            none = [r[f]["per_class"]["NONE"]["precision"] for r in per_repeat]
            res[f]["none_precision"] = _summary(np.array(none, dtype=float))
    return res


def cross_validate(config: TrainConfig, gold: list[dict], extra: list[dict] = (),
                   kinds: Sequence[str] | None = None, n_boot: int = 1000,
                   progress: Callable[[str], None] | None = None,
                   sources: Sequence[str] | None = None,
                   builders: Mapping[str, Callable[[], Model]] | None = None) -> dict:
    """Repeated stratified k-fold CV; returns ``{kind: {field: metrics}}``.

    ``kinds`` names model kinds built from the config (the config's own kind with its params,
    others with their defaults); ``builders`` instead maps a name to a function returning an
    unfitted model, so differently configured models (two encoders, a SetFit model) are
    compared in the same folds, on the same resamples.

    Each repeat yields one out-of-fold prediction per gold comment; the metrics
    are computed on those pooled predictions, then averaged over repeats
    (``mean``, ``std``) with a 95% bootstrap interval over comments (``ci95``).
    Folds are stratified on the stance labels. With ``cv.group_by`` the folds keep each
    group (page) whole and the intervals resample whole groups.
    ``sources`` names each gold comment's source (its file): with more than one, each
    kind's result also holds ``by_source``: ``{source: {field: metrics}}``, the same
    predictions scored within each source.
    With several kinds, the first one's result also holds ``versus``:
    ``{other kind: {field: {metric: {delta, ci95, share_above_zero}}}}``, the
    difference first − other of the macro-F1 and F_avg, with its 95% interval on
    the same resamples (paired), and ``versus_by_source``: ``{other kind: {source: ...}}``.
    """
    cv = config.cv
    if cv is None:
        raise TrainError("the config has no cv section")
    fields = config.data.fields
    if builders is None:
        kinds = list(kinds or [config.model.kind])
        builders = {kind: (lambda kind=kind: build_model(config, kind)) for kind in kinds}
        check_model_params(config)
    kinds = list(builders)
    texts = [r["text"] for r in gold]
    groups = cv_groups(gold, cv.group_by)
    splits = _cv_splits(cv, gold, fields, groups)
    folds = len(splits) // cv.repeats
    gold_labels = labels_of(gold, fields)
    extra_texts = [r["text"] for r in extra]
    extra_labels = labels_of(extra, fields)
    preds: dict[str, list[dict]] = {k: [] for k in kinds}
    timings: dict[str, float] = {k: 0.0 for k in kinds}
    current: dict[str, dict] = {}
    started = time.perf_counter()
    for i, (tr, te) in enumerate(splits):
        if i % folds == 0:
            current = {k: {f: [None] * len(gold) for f in fields} for k in kinds}
        train_texts = [texts[j] for j in tr] + extra_texts
        train_y = {f: [gold_labels[f][j] for j in tr] + extra_labels[f] for f in fields}
        for kind in kinds:
            t0 = time.perf_counter()
            model = builders[kind]().fit(train_texts, train_y)
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
    subsets = {None: np.arange(len(gold))}
    if sources is not None and len(set(sources)) > 1:
        for src in dict.fromkeys(sources):
            subsets[src] = np.array([i for i, s in enumerate(sources) if s == src])
    # Each source is resampled on its own (its groups drawn among its own), every kind on the same draws.
    samples = {src: _bootstrap_samples(gold_labels, preds, fields,
                                       boot_weights(len(sel), n_boot, cv.seed,
                                                    None if groups is None else [groups[i] for i in sel]), sel)
               for src, sel in subsets.items()}
    out = {}
    for kind in kinds:
        out[kind] = {"fields": _summarise(gold_labels, preds[kind], fields, samples[None][kind]),
                     "seconds": round(timings[kind], 2)}
        if len(subsets) > 1:
            out[kind]["by_source"] = {src: _summarise(gold_labels, preds[kind], fields, samples[src][kind], sel)
                                      for src, sel in subsets.items() if src is not None}
    # The first kind against each other one, paired on the same comments and resamples.
    main = kinds[0]
    versus, versus_by_source = {}, {}
    for other in kinds[1:]:
        versus[other] = _versus(out[main]["fields"], out[other]["fields"], samples[None][main],
                                samples[None][other], fields)
        if len(subsets) > 1:
            versus_by_source[other] = {
                src: _versus(out[main]["by_source"][src], out[other]["by_source"][src], samples[src][main],
                             samples[src][other], fields) for src in subsets if src is not None}
    if versus:
        out[main]["versus"] = versus
    if versus_by_source:
        out[main]["versus_by_source"] = versus_by_source
    return out


def _versus(a: dict, b: dict, samples_a: dict, samples_b: dict, fields: Sequence[str]) -> dict:
    """``{field: {metric: {delta, ci95, share_above_zero}}}`` for a − b, paired on the same resamples."""
    out = {}
    for f in fields:
        out[f] = {}
        for metric in ("macro_f1", "f_avg"):
            if metric in a[f] and metric in b[f]:
                diffs = samples_a[f][metric] - samples_b[f][metric]
                out[f][metric] = {"delta": float(a[f][metric]["mean"] - b[f][metric]["mean"]),
                                  "ci95": _interval(diffs), "share_above_zero": float(np.nanmean(diffs > 0))}
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
        grouped = (f" Folds keep the comments of one `{cv.group_by}` together, and the intervals resample "
                   f"whole `{cv.group_by}` groups." if cv.group_by else "")
        lines += [f"{cv.repeats} × repeated {cv.folds}-fold cross-validation on the gold files "
                  "(extra files only ever in training folds). Mean over repeats, with a 95% bootstrap "
                  f"interval.{grouped} Source `all` pools the gold files; each file's own figures follow.", ""]
        lines += _md_table(CV_HEADER, cv_rows(cv_result))
        versus = versus_rows(cv_result)
        if versus:
            lines += ["", "Difference in macro-F1, the first kind minus each baseline, in the same folds and on the "
                      "same bootstrap resamples (paired): mean, 95% interval, and the share of resamples in which "
                      "it is above zero.", ""]
            lines += _md_table(VERSUS_HEADER, versus)
    else:
        lines.append("No cross-validation was run (the config has no `cv` section).")
    use = config.card.intended_use or (
        "Batch labelling of Persian comments with `nazar label`, for research and analysis. Aggregate "
        "figures are more trustworthy than single labels; check a sample by hand before drawing conclusions.")
    lines += ["", "## Intended use", "", use, "", "## Limits", ""]
    lines += [f"- {item}" for item in _card_limits(config, n_gold, counts, train_counts, cv_result is not None)]
    lines += ["", f"Trained in {seconds:.1f} s. Resolved config: `config.yaml`; metrics: `metrics.json`.", ""]
    return "\n".join(lines)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines; in the rows, file paths become code and pipes are escaped."""
    def cell(text: str) -> str:
        text = text.replace("|", "\\|")
        return f"`{text}`" if "/" in text and " " not in text else text

    return (["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
            + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows])


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
        sources = [_as_source(src).path for src, records in parts["gold"] for _ in records]
        cv_result = cross_validate(config, gold, extra, kinds=kinds, progress=log, sources=sources)
        metrics["cv"] = {"folds": config.cv.folds, "repeats": config.cv.repeats, "group_by": config.cv.group_by,
                         "results": cv_result}
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
