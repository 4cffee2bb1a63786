"""The annotation loop: selection, Label Studio and sheet exchange, merge, audit, the terminal labeller."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from conftest import read_jsonl, write_jsonl
from pipeline.annotate import AnnotateError
from pipeline.annotate import select as select_mod
from pipeline.annotate.audit import audit, confident_flags
from pipeline.annotate.exchange import (label_config, label_studio_tasks, read_label_studio, read_sheet,
                                        write_label_studio, write_sheet)
from pipeline.annotate.merge import merge, merge_files
from pipeline.annotate.records import text_key
from pipeline.annotate.select import select, uncertainty
from pipeline.annotate.terminal import label_batch, parse_answer, skipped_path
from pipeline.cli import main
from pipeline.schema import FIELDS, LABELS

# -- a dump with planted structure ------------------------------------------------------------
_LETTERS = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"
MARK = "نامعلوم"  # the planted model is unsure of every comment holding this word


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(_LETTERS) for _ in range(rng.randint(4, 7))) for _ in range(n)]


def planted_dump(tmp_path, n_plain=150, n_cluster=10, n_groups=5, per_group=4, seed=1):
    """Plain comments the model is sure of, an uncertain cluster, and near-duplicate groups (uncertain too)."""
    rng = random.Random(seed)
    vocab = _words(rng, 400)
    recs, cluster, groups = [], [], []
    for i in range(n_plain):
        recs.append({"id": f"p{i}", "text": " ".join(rng.sample(vocab, 7))})
    for i in range(n_cluster):
        rid = f"c{i}"
        cluster.append(rid)
        recs.append({"id": rid, "text": f"{MARK} " + " ".join(rng.sample(vocab, 6))})
    for g in range(n_groups):
        words = [MARK] + rng.sample(vocab, 10)
        ids = []
        for k in range(per_group):
            rid = f"d{g}-{k}"
            ids.append(rid)
            # the same comment with one word changed, and punctuation: a near-duplicate, not a repeat
            variant = list(words)
            variant[1 + k] = variant[1 + k][:-1] + "ک"
            recs.append({"id": rid, "text": " ".join(variant) + ("!" * k)})
        groups.append(ids)
    rng.shuffle(recs)
    return write_jsonl(tmp_path / "dump.jsonl", recs), cluster, groups


@pytest.fixture()
def planted_model(tfidf_model_dir):
    """The test TF-IDF model, its probabilities replaced: flat for MARK comments, one label at 0.98 for others."""
    from pipeline.classifiers.base import load_model

    model = load_model(tfidf_model_dir)

    def proba(norm_texts):
        out = {}
        for f in model.fields:
            k = len(model.classes_[f])
            rows = []
            for t in norm_texts:
                if MARK in t:
                    rows.append(np.full(k, 1.0 / k))
                else:
                    row = np.full(k, 0.02 / (k - 1))
                    row[-1] = 0.98
                    rows.append(row)
            out[f] = np.array(rows)
        return out

    model.predict_proba_normalized = proba
    return model


def _ids(selection):
    return [r["id"] for r in selection.records]


# -- selection --------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["mixed", "uncertainty"])
def test_selection_takes_one_per_duplicate_group_and_covers_the_uncertain_cluster(tmp_path, planted_model, strategy):
    dump, cluster, groups = planted_dump(tmp_path)
    sel = select(dump, 20, model=planted_model, strategy=strategy, seed=3)
    ids = _ids(sel)
    assert len(ids) == len(set(ids)) == 20
    for group in groups:
        assert sum(i in group for i in ids) == 1, (group, ids)
    assert set(cluster) <= set(ids)
    assert sel.counts["read"] == 150 + 10 + 20


def test_selection_never_picks_near_duplicates_together_at_random(tmp_path, planted_model):
    dump, _, groups = planted_dump(tmp_path, n_plain=5, n_cluster=0, n_groups=6, per_group=5)
    sel = select(dump, 30, model=planted_model, strategy="random", seed=0)
    ids = _ids(sel)
    for group in groups:
        assert sum(i in group for i in ids) <= 1
    # Fewer distinct comments than asked for: all of them, once.
    assert len(ids) == 5 + 6


def test_selection_is_deterministic_for_a_seed(tmp_path, planted_model):
    dump, _, _ = planted_dump(tmp_path)
    runs = [select(dump, 15, model=planted_model, strategy="mixed", seed=7) for _ in range(2)]
    assert _ids(runs[0]) == _ids(runs[1])
    assert [r["selection"] for r in runs[0].records] == [r["selection"] for r in runs[1].records]
    randoms = {s: [r["id"] for r in select(dump, 15, model=planted_model, strategy="random", seed=s).records]
               for s in (1, 2)}
    assert randoms[1] != randoms[2]


def test_selection_mixes_a_random_share(tmp_path, planted_model):
    dump, cluster, groups = planted_dump(tmp_path)
    sel = select(dump, 20, model=planted_model, strategy="mixed", random_share=0.25, seed=5)
    by = [r["selection"]["by"] for r in sel.records]
    assert by.count("random") == 5
    assert [r["selection"]["order"] for r in sel.records] == list(range(1, 21))


def test_diverse_spreads_over_the_dump(tmp_path, planted_model):
    dump, cluster, groups = planted_dump(tmp_path)
    sel = select(dump, 12, model=planted_model, strategy="diverse", seed=2)
    assert len(_ids(sel)) == 12
    for group in groups:
        assert sum(i in group for i in _ids(sel)) <= 1


def test_selection_skips_gold_ids_and_texts(tmp_path, planted_model):
    dump, cluster, _ = planted_dump(tmp_path)
    texts = {r["id"]: r["text"] for r in read_jsonl(dump)}
    gold = write_jsonl(tmp_path / "gold.jsonl", [
        {"id": cluster[0], "text": "another text", "stance_domestic": "NONE"},
        {"id": "elsewhere", "text": texts[cluster[1]] + " ،", "sentiment": "NEUTRAL"}])
    sel = select(dump, 20, model=planted_model, strategy="uncertainty", gold=[gold])
    assert cluster[0] not in _ids(sel) and cluster[1] not in _ids(sel)
    assert sel.counts["in_gold"] == 2


def test_selection_counts_rejects_and_repeats(tmp_path, planted_model):
    dump, _, _ = planted_dump(tmp_path, n_plain=20, n_cluster=2, n_groups=1)
    lines = dump.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    lines += ['{"id": "empty", "text": ""}', "not json", json.dumps({"id": "again", "text": first["text"] + "!"})]
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sel = select(dump, 5, model=planted_model)
    assert sel.counts["rejected"] == 2 and len(sel.rejects) == 2
    assert all(r["reason"] for r in sel.rejects)
    assert sel.counts["repeated"] == 1
    assert sel.counts["read"] == len(lines)


def test_selection_memory_is_bounded_by_n(tmp_path, planted_model, monkeypatch):
    dump, _, _ = planted_dump(tmp_path, n_plain=1500, n_cluster=30, n_groups=3)
    biggest = []
    offer = select_mod._Pool.offer

    def tracked(self, *args):
        offer(self, *args)
        biggest.append(len(self.entries))

    monkeypatch.setattr(select_mod._Pool, "offer", tracked)
    select(dump, 4, model=planted_model, strategy="mixed", pool_factor=5)
    assert max(biggest) <= 4 * 5 + 50 < 1500


def test_uncertainty_scores_margin_and_rare_labels():
    classes = {"stance_telegram": ["AGAINST", "FAVOR", "NONE"]}
    p = {"stance_telegram": np.array([[0.1, 0.1, 0.8], [0.1, 0.45, 0.45], [0.3, 0.1, 0.6]])}
    s = uncertainty(p, classes, rare={}, rare_weight=0)
    assert s[1] > s[2] > s[0]
    s_rare = uncertainty(p, classes, rare={"stance_telegram": ("FAVOR",)}, rare_weight=1.0)
    assert s_rare[1] - s[1] == pytest.approx(0.45)


def test_select_refuses_bad_arguments(tmp_path, planted_model):
    dump, _, _ = planted_dump(tmp_path, n_plain=5, n_cluster=0, n_groups=0)
    with pytest.raises(AnnotateError, match="strategy"):
        select(dump, 3, model=planted_model, strategy="best")
    with pytest.raises(AnnotateError, match="at least 1"):
        select(dump, 0, model=planted_model)
    with pytest.raises(AnnotateError, match="rare label"):
        select(dump, 3, model=planted_model, rare={"stance_telegram": ("MAYBE",)})
    with pytest.raises(AnnotateError, match="no such file"):
        select(tmp_path / "missing.jsonl", 3, model=planted_model)


def test_cli_select_writes_the_batch_and_its_rejects(tmp_path, tfidf_model_dir, capsys):
    dump, _, _ = planted_dump(tmp_path, n_plain=30, n_cluster=3, n_groups=2)
    with open(dump, "a", encoding="utf-8") as fh:
        fh.write('{"id": "bad", "text": 5}\n')
    out = tmp_path / "batch.jsonl"
    assert main(["annotate", "select", str(dump), "-n", "6", "-o", str(out), "--model", str(tfidf_model_dir),
                 "-q"]) == 0
    batch = read_jsonl(out)
    assert len(batch) == 6
    for rec in batch:
        assert set(rec["predicted"]) == set(FIELDS)
        assert rec["selection"]["strategy"] == "mixed"
    rejects = read_jsonl(tmp_path / "batch.rejects.jsonl")
    assert [r["id"] for r in rejects] == ["bad"]
    assert main(["annotate", "select", str(dump), "-n", "6", "-o", str(out), "--model", str(tfidf_model_dir),
                 "-q"]) == 1
    assert "exists" in capsys.readouterr().err


# -- export and import --------------------------------------------------------------------------
def _batch(tmp_path, n=6):
    recs = []
    for i in range(n):
        recs.append({"id": f"b{i}", "text": f"پیام رسان داخلی شماره {i} و تلگرام", "url": f"https://x.ir/{i}",
                     "predicted": {"stance_domestic": "FAVOR", "stance_telegram": "AGAINST", "sentiment": "POSITIVE"},
                     "probs": {"stance_domestic": {"FAVOR": 0.6, "AGAINST": 0.3, "NONE": 0.1}},
                     "selection": {"score": 0.5, "by": "uncertainty", "order": i + 1}})
    return write_jsonl(tmp_path / "batch.jsonl", recs), recs


def _annotation(labels, who="ana@x.org", uid=1, cancelled=False, note=None):
    result = [{"from_name": f, "to_name": "text", "type": "choices", "value": {"choices": [v]}}
              for f, v in labels.items()]
    if note:
        result.append({"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": [note]}})
    return {"id": uid * 100, "completed_by": uid, "created_username": f"{who}, {uid}", "was_cancelled": cancelled,
            "result": result}


def test_label_config_is_rtl_with_one_required_choice_block_per_field():
    import xml.etree.ElementTree as ET

    root = ET.fromstring(label_config())
    choices = root.findall(".//Choices")
    assert [c.get("name") for c in choices] == list(FIELDS)
    for block in choices:
        assert block.get("required") == "true" and block.get("choice") == "single-radio"
        assert {c.get("value") for c in block.findall("Choice")} == set(LABELS[block.get("name")])
    assert "direction: rtl" in label_config()
    hotkeys = [c.get("hotkey") for c in root.iter("Choice")]
    assert len(set(hotkeys)) == len(hotkeys)
    assert ET.fromstring(label_config(context=True)).find(".//Text[@name='context']") is not None


def test_tasks_carry_predictions_and_no_labels(tmp_path):
    _, recs = _batch(tmp_path)
    tasks, context = label_studio_tasks(recs)
    assert not context
    assert tasks[0]["data"] == {"id": "b0", "text": recs[0]["text"], "url": "https://x.ir/0",
                                "selected_by": "uncertainty"}
    result = tasks[0]["predictions"][0]["result"]
    assert {r["from_name"]: r["value"]["choices"][0] for r in result} == recs[0]["predicted"]
    assert "predictions" not in label_studio_tasks(recs, predictions=False)[0][0]


def test_label_studio_round_trip_with_two_annotators(tmp_path):
    batch, recs = _batch(tmp_path)
    tasks_path, config_path = write_label_studio(recs, tmp_path / "tasks.json")
    assert config_path.name == "tasks.label_config.xml" and config_path.exists()
    tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
    rng = random.Random(0)
    expected = {}
    for k, task in enumerate(tasks):
        task["id"] = 1000 + k
        anns = []
        for who, uid in (("ana@x.org", 1), ("bob@x.org", 2)):
            labels = {f: rng.choice(LABELS[f]) for f in FIELDS}
            expected[task["data"]["id"], who] = labels
            anns.append(_annotation(labels, who, uid, note="طعنه" if k == 0 and uid == 1 else None))
        task["annotations"] = anns
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    imported = read_label_studio(export, batch_ids={r["id"] for r in recs})
    assert not imported.rejects
    assert sorted(imported.by_annotator) == ["ana@x.org", "bob@x.org"]
    for who, records in imported.by_annotator.items():
        assert len(records) == len(recs)
        for rec in records:
            assert {f: rec[f] for f in FIELDS} == expected[rec["id"], who]
            assert rec["annotator"] == who and rec["url"].startswith("https://")
    assert imported.by_annotator["ana@x.org"][0]["note"] == "طعنه"


def test_bad_exports_give_rejects_with_reasons_and_reconcile(tmp_path):
    good = {f: LABELS[f][0] for f in FIELDS}
    tasks = [
        {"id": 1, "data": {"id": "b0", "text": "t0"}, "annotations": [_annotation(good)]},
        {"id": 2, "data": {"id": "b1", "text": "t1"}, "annotations": []},
        {"id": 3, "data": {"id": "b2", "text": "t2"}, "annotations": [_annotation(good, cancelled=True)]},
        {"id": 4, "data": {"id": "b3", "text": "t3"},
         "annotations": [_annotation(dict(good, sentiment="HAPPY"))]},
        {"id": 5, "data": {"id": "b4", "text": "t4"},
         "annotations": [_annotation({"stance_domestic": "NONE"})]},
        {"id": 6, "data": {"id": "zz", "text": "t5"}, "annotations": [_annotation(good)]},
        {"id": 7, "data": {"text": "t6"}, "annotations": [_annotation(good)]},
        {"id": 8, "data": {"id": "b5", "text": "t7"}, "annotations": [_annotation(good), _annotation(good)]},
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks), encoding="utf-8")
    imported = read_label_studio(export, batch_ids={f"b{i}" for i in range(6)})
    reasons = [r["reason"] for r in imported.rejects]
    assert imported.n_labelled == 2  # b0 and the first annotation of b5
    assert any("no annotation" in r for r in reasons)
    assert any("skipped" in r for r in reasons)
    assert any("unknown choice 'HAPPY'" in r for r in reasons)
    assert any("no label for stance_telegram, sentiment" in r for r in reasons)
    assert any("not in the batch" in r for r in reasons)
    assert any("no 'id'" in r for r in reasons)
    assert any("labelled twice by ana@x.org (the first at task 8)" in r for r in reasons)
    # every annotation is a record or a reject; every task without a usable annotation a reject
    per_annotation = [r for r in imported.rejects if "annotator" in r]
    assert imported.n_labelled + len(per_annotation) == imported.counts["annotations"] == 6
    tasks_out = {r["task"] for r in imported.rejects if "annotator" not in r}
    assert len(tasks_out) + len({1, 3, 4, 5, 8}) == imported.counts["units"] == len(tasks)


@pytest.mark.parametrize("content, match", [
    ("{}", "list of tasks"),
    ("not json", "not a Label Studio JSON export"),
    ('[{"text": "x", "stance_domestic": "NONE"}]', "JSON-MIN"),
])
def test_unreadable_exports_are_errors(tmp_path, content, match):
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AnnotateError, match=match):
        read_label_studio(path)


@pytest.mark.parametrize("ext", ["csv", "tsv"])
def test_sheet_round_trip(tmp_path, ext):
    import csv

    _, recs = _batch(tmp_path)
    sheet = write_sheet(recs, tmp_path / f"sheet.{ext}", delimiter="\t" if ext == "tsv" else ",")
    assert sheet.read_bytes().startswith("\ufeff".encode("utf-8"))
    rows = list(csv.DictReader(sheet.read_text(encoding="utf-8-sig").splitlines(),
                               delimiter="\t" if ext == "tsv" else ","))
    assert rows[0]["predicted_stance_domestic"] == "FAVOR" and rows[0]["stance_domestic"] == ""
    expected = {}
    for k, row in enumerate(rows):
        if k == len(rows) - 1:
            continue  # left blank: "not labelled"
        labels = {f: LABELS[f][k % 3] for f in FIELDS}
        expected[row["id"]] = labels
        row.update({f: (v.lower() if k % 2 else f" {v} ") for f, v in labels.items()})
    rows[1]["note"] = "نمی‌دانم"
    with open(sheet, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t" if ext == "tsv" else ",")
        writer.writeheader()
        writer.writerows(rows)
    imported = read_sheet(sheet, annotator="sara", batch_ids={r["id"] for r in recs})
    got = {r["id"]: {f: r[f] for f in FIELDS} for r in imported.by_annotator["sara"]}
    assert got == expected
    assert [r["reason"] for r in imported.rejects] == ["not labelled"]
    assert imported.by_annotator["sara"][1]["note"] == "نمی‌دانم"
    assert all(not k.startswith("predicted_") for r in imported.by_annotator["sara"] for k in r)


def test_bad_sheet_rows_are_rejects(tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("id,text,stance_domestic,stance_telegram,sentiment\n"
                     "a,t,FAVOR,NONE,POSITIVE\nb,t,MAYBE,NONE,POSITIVE\nc,t,FAVOR,,\n,t,NONE,NONE,NEUTRAL\n"
                     "a,t,NONE,NONE,NEUTRAL\nq,t,NONE,NONE,NEUTRAL\n", encoding="utf-8")
    imported = read_sheet(sheet, batch_ids={"a", "b", "c"})
    reasons = {r["line"]: r["reason"] for r in imported.rejects}
    assert "unknown label 'MAYBE'" in reasons[3]
    assert "no label for stance_telegram, sentiment" in reasons[4]
    assert reasons[5] == "no id"
    assert "twice" in reasons[6]
    assert reasons[7] == "id not in the batch"
    assert imported.n_labelled + len(imported.rejects) == imported.counts["units"] == 6
    bad = tmp_path / "nolabels.csv"
    bad.write_text("id,text\n1,x\n", encoding="utf-8")
    with pytest.raises(AnnotateError, match="no column"):
        read_sheet(bad)


def test_cli_export_import_round_trip(tmp_path, capsys):
    batch, recs = _batch(tmp_path)
    tasks = tmp_path / "tasks.json"
    assert main(["annotate", "export", str(batch), "-o", str(tasks)]) == 0
    assert (tmp_path / "tasks.label_config.xml").exists()
    data = json.loads(tasks.read_text(encoding="utf-8"))
    labels = {f: LABELS[f][1] for f in FIELDS}
    for k, task in enumerate(data):
        task["annotations"] = [_annotation(labels, "ana@x.org", 1)] + \
            ([_annotation(labels, "bob@x.org", 2)] if k % 2 else [])
    data[0]["annotations"].append(_annotation(labels, "bob@x.org", 2, cancelled=True))
    export = tmp_path / "export.json"
    export.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "labels.jsonl"
    assert main(["annotate", "import", str(export), "-o", str(out), "--batch", str(batch)]) == 0
    ana = read_jsonl(tmp_path / "labels.ana_x.org.jsonl")
    bob = read_jsonl(tmp_path / "labels.bob_x.org.jsonl")
    assert len(ana) == 6 and len(bob) == 3
    assert all({f: r[f] for f in FIELDS} == labels for r in ana + bob)
    rejects = read_jsonl(tmp_path / "labels.rejects.jsonl")
    assert [r["reason"] for r in rejects] == ["skipped by the annotator"]
    assert "1 rejected" in capsys.readouterr().err
    # refuses to overwrite, and a sheet round trip through the CLI
    assert main(["annotate", "import", str(export), "-o", str(out)]) == 1
    sheet = tmp_path / "sheet.tsv"
    assert main(["annotate", "export", str(batch), "-o", str(sheet)]) == 0
    assert sheet.read_text(encoding="utf-8-sig").splitlines()[0].split("\t")[:5] == ["id", "text", *FIELDS]


# -- merge ----------------------------------------------------------------------------------------
def _labels(rng, n, flip=0.0, base=None):
    out = []
    for i in range(n):
        rec = {"id": f"m{i}", "text": f"متن {i}"}
        for f in FIELDS:
            lab = base[i][f] if base else rng.choice(LABELS[f])
            if base and rng.random() < flip:
                lab = rng.choice([x for x in LABELS[f] if x != lab])
            rec[f] = lab
        out.append(rec)
    return out


def test_merge_two_annotators(tmp_path):
    rng = random.Random(4)
    a = _labels(rng, 60)
    b = _labels(rng, 60, flip=0.15, base=a)
    merged = merge({"a": a, "b": b}, n_boot=200)
    for f in FIELDS:
        s = merged.agreement[f]
        assert s["kappa_kind"] == "cohen" and s["n"] == 60
        assert s["kappa_ci95"][0] <= s["kappa"] <= s["kappa_ci95"][1]
        share = np.mean([x[f] == y[f] for x, y in zip(a, b)])
        assert s["agreement"] == pytest.approx(share)
    agreed = [x for x, y in zip(a, b) if all(x[f] == y[f] for f in FIELDS)]
    assert [r["id"] for r in merged.gold] == [r["id"] for r in agreed]
    assert len(merged.gold) + len(merged.adjudicate) == 60
    for rec in merged.adjudicate:
        assert set(rec["annotations"]) == {"a", "b"}
        for f in rec["disputed"]:
            assert rec[f] is None
            assert rec["annotations"]["a"][f] != rec["annotations"]["b"][f]


def test_merge_three_annotators_uses_fleiss_and_majority(tmp_path):
    rng = random.Random(5)
    a = _labels(rng, 40)
    b = _labels(rng, 40, flip=0.2, base=a)
    c = _labels(rng, 40, flip=0.2, base=a)
    strict = merge({"a": a, "b": b, "c": c}, n_boot=100)
    loose = merge({"a": a, "b": b, "c": c}, n_boot=100, majority=True)
    assert strict.agreement["sentiment"]["kappa_kind"] == "fleiss"
    assert len(loose.gold) > len(strict.gold)
    for rec in loose.gold:
        src = {x["id"]: x for x in a}[rec["id"]]
        votes = [{x["id"]: x for x in o}[rec["id"]] for o in (a, b, c)]
        for f in FIELDS:
            assert sum(v[f] == rec[f] for v in votes) >= 2
        assert rec["text"] == src["text"]


def test_merge_keeps_comments_labelled_once_for_adjudication(tmp_path):
    rng = random.Random(6)
    a = _labels(rng, 10)
    b = [dict(r) for r in a[:7]]
    merged = merge({"a": a, "b": b}, n_boot=50)
    assert len(merged.gold) == 7
    assert len(merged.adjudicate) == 3 and all("1 of 2" in r["reason"] for r in merged.adjudicate)
    assert merged.agreement["sentiment"]["n"] == 7


def test_cli_merge_never_overwrites_gold_without_force(tmp_path, capsys):
    rng = random.Random(7)
    a = _labels(rng, 20)
    b = _labels(rng, 20, flip=0.3, base=a)
    pa, pb = write_jsonl(tmp_path / "a.jsonl", a), write_jsonl(tmp_path / "b.jsonl", b)
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "keep", "text": "x", "sentiment": "NEUTRAL"}])
    before = gold.read_bytes()
    assert main(["annotate", "merge", str(pa), str(pb), "-o", str(gold), "--bootstrap", "50"]) == 1
    assert "--force" in capsys.readouterr().err and gold.read_bytes() == before
    assert main(["annotate", "merge", str(pa), str(pb), "-o", str(gold), "--bootstrap", "50", "--force",
                 "--json", str(tmp_path / "agreement.json")]) == 0
    printed = capsys.readouterr().out
    assert "Cohen" in printed and "alpha" in printed
    merged, adjudicate = read_jsonl(gold), read_jsonl(tmp_path / "gold.adjudicate.jsonl")
    assert len(merged) + len(adjudicate) == 20
    assert json.loads((tmp_path / "agreement.json").read_text())["merged"] == len(merged)
    assert main(["annotate", "merge", str(pa), "-o", str(tmp_path / "x.jsonl")]) == 1


def test_merge_files_reject_incomplete_records(tmp_path):
    pa = write_jsonl(tmp_path / "a.jsonl", [{"id": "1", "text": "x", "stance_domestic": "NONE"}])
    pb = write_jsonl(tmp_path / "b.jsonl", [{"id": "1", "text": "x", "stance_domestic": "NONE",
                                            "stance_telegram": "NONE", "sentiment": "NEUTRAL"}])
    with pytest.raises(AnnotateError, match="no label for stance_telegram, sentiment"):
        merge_files([pa, pb])


# -- audit ----------------------------------------------------------------------------------------
def test_confident_flags_flag_a_confident_disagreement():
    classes = ["AGAINST", "FAVOR", "NONE"]
    proba = np.array([[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.1, 0.7], [0.85, 0.05, 0.1]])
    given = ["AGAINST", "AGAINST", "NONE", "NONE", "NONE"]
    flags, thresholds = confident_flags(proba, given, classes)
    assert [(i, s) for i, s, *_ in flags] == [(4, "AGAINST")]
    assert thresholds["FAVOR"] == float("inf")


def test_audit_finds_planted_label_errors(tmp_path, gold_records):
    from pipeline.config import load_config

    rng = random.Random(0)
    # Two separable classes of sentiment, with three labels flipped.
    pos = ["عالی بود خیلی خوب", "خیلی خوبه عالیه", "دمتون گرم عالی", "عالی و خوب و زیبا", "خوب است عالی"]
    neg = ["افتضاح بود خیلی بد", "خیلی بده افتضاح", "بد و زشت و افتضاح", "افتضاحه بدترین", "بد است افتضاح"]
    recs = []
    for i in range(60):
        positive = i % 2 == 0
        words = (rng.choice(pos) if positive else rng.choice(neg)) + f" {i}"
        recs.append({"id": f"a{i}", "text": words, "stance_domestic": "NONE", "stance_telegram": "NONE",
                     "sentiment": "POSITIVE" if positive else "NEGATIVE"})
    planted = {"a4", "a17", "a32"}
    for r in recs:
        if r["id"] in planted:
            r["sentiment"] = "NEGATIVE" if r["sentiment"] == "POSITIVE" else "POSITIVE"
    gold = write_jsonl(tmp_path / "gold.jsonl", recs)
    config = load_config(None, ["model.kind=tfidf", "data.gold=[]"])
    report = audit(gold, config=config, folds=5)
    flagged = {f["id"] for f in report.flags if "sentiment" in f["flagged"]}
    assert planted <= flagged
    assert len(flagged) <= len(planted) + 3
    top = report.flags[0]
    assert top["flagged"]["sentiment"]["suggested"] != top["labels"]["sentiment"]
    assert [f["rank"] for f in report.flags] == list(range(1, len(report.flags) + 1))


def test_cli_audit_writes_the_ranked_report(tmp_path, gold_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: {kind: tfidf}\ndata: {gold: []}\n", encoding="utf-8")
    out = tmp_path / "audit.jsonl"
    assert main(["annotate", "audit", "--gold", str(gold_path), "--config", str(cfg), "-o", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "out-of-fold" in printed
    flags = read_jsonl(out)
    scores = [f["score"] for f in flags]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(AnnotateError, match="too few"):
        audit(write_jsonl(tmp_path / "g.jsonl", read_jsonl(gold_path)[:5]), config=str(cfg))


# -- the terminal labeller -------------------------------------------------------------------------
def test_parse_answer():
    assert parse_answer("fan") == ("label", {"stance_domestic": "FAVOR", "stance_telegram": "AGAINST",
                                             "sentiment": "NEGATIVE"}, None)
    assert parse_answer("n a u # طعنه")[1]["sentiment"] == "NEUTRAL"
    assert parse_answer("n a u # طعنه")[2] == "طعنه"
    assert parse_answer("123")[1] == {"stance_domestic": "FAVOR", "stance_telegram": "AGAINST",
                                      "sentiment": "NEUTRAL"}
    guess = {"stance_domestic": "NONE", "stance_telegram": "NONE", "sentiment": "NEUTRAL"}
    assert parse_answer("", guess)[1] == guess
    assert [parse_answer(k)[0] for k in "suq?"] == ["skip", "undo", "quit", "help"]
    for bad, match in (("", "no model guess"), ("fa", "2 key"), ("fax", "'x' is not a key for sentiment")):
        with pytest.raises(ValueError, match=match):
            parse_answer(bad)


def _feed(answers):
    it = iter(answers)

    def read(prompt):
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None
    return read


def test_terminal_labeller_labels_undoes_skips_and_resumes(tmp_path, capsys):
    import io

    batch, recs = _batch(tmp_path, n=5)
    out = tmp_path / "mine.jsonl"
    screen = io.StringIO()
    # b0 by keys; b1 wrong then undone and relabelled; b2 skipped; then quit
    counts = label_batch(batch, out, annotator="sara", out=screen, width=40,
                         read_line=_feed(["nan", "xyz", "ffp", "u", "aan # طعنه", "s", "q"]))
    assert counts["labelled"] == 2 and counts["skipped"] == 1 and counts["left"] == 2
    labelled = read_jsonl(out)
    assert [r["id"] for r in labelled] == ["b0", "b1"]
    assert labelled[1]["stance_domestic"] == "AGAINST" and labelled[1]["note"] == "طعنه"
    assert all("predicted" not in r and r["annotator"] == "sara" for r in labelled)
    assert [r["id"] for r in read_jsonl(skipped_path(out))] == ["b2"]
    shown = screen.getvalue()
    assert "is not a key" in shown and "undone: b1" in shown
    assert recs[0]["text"].rjust(40) in shown
    # resume: only b3 and b4 are asked; Enter takes the model's guess; end of input stops cleanly
    screen = io.StringIO()
    counts = label_batch(batch, out, annotator="sara", out=screen, width=40, read_line=_feed(["", "nnu"]))
    assert counts["left"] == 0
    labelled = read_jsonl(out)
    assert [r["id"] for r in labelled] == ["b0", "b1", "b3", "b4"]
    assert {f: labelled[2][f] for f in FIELDS} == recs[3]["predicted"]
    assert "id b0" not in screen.getvalue()
    # the labels merge like any annotator's file
    assert text_key(labelled[0]["text"]) == text_key(recs[0]["text"])


def test_cli_label_refuses_the_batch_as_output(tmp_path, capsys):
    batch, _ = _batch(tmp_path, n=2)
    assert main(["annotate", "label", str(batch), "-o", str(batch)]) == 1
    assert "batch itself" in capsys.readouterr().err


def test_diversity_uses_the_encoders_embeddings_when_the_model_has_one(tfidf_model_dir):
    from pipeline.label import BatchLabeller
    from pipeline.resources import default_model_dir

    entries = [{"rec": {"text": t}} for t in ("سروش خیلی خوبه", "تلگرام فیلتر شد", "ایتا کنده")]
    vectors = select_mod._embeddings(entries, BatchLabeller(default_model_dir()))
    assert vectors is not None and vectors.shape[0] == 3
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert select_mod._embeddings(entries, BatchLabeller(tfidf_model_dir)) is None
