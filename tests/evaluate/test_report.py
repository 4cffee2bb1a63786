"""The self-contained HTML report."""
from __future__ import annotations

import re
import sys

import pytest

from pipeline.cli import main
from pipeline.evaluate import evaluate


@pytest.fixture(scope="module")
def report(gold_records, tfidf_model_dir):
    from pipeline.classifiers.base import load_model

    return evaluate([load_model(tfidf_model_dir)], gold_records, gold_name="gold", n_boot=50)


def test_html_embeds_plots_and_lists_every_error(report):
    pytest.importorskip("matplotlib")
    html = report.to_html()
    assert html.startswith("<!DOCTYPE html>")
    assert len(re.findall(r"data:image/png;base64,", html)) == 2 * len(report.fields)
    assert "matplotlib is not installed" not in html
    assert "src='http" not in html and 'src="http' not in html  # nothing loaded from elsewhere
    for e in report.models[0]["errors"]:
        assert e["id"] in html


def test_html_escapes_comment_text(gold_records, tfidf_model_dir):
    from pipeline.classifiers.base import load_model

    records = [dict(r) for r in gold_records[:10]]
    records[0]["text"] = "<script>alert(1)</script> " + records[0]["text"]
    rep = evaluate([load_model(tfidf_model_dir)], records, n_boot=20)
    html = rep.to_html()
    assert "<script>" not in html


def test_html_without_matplotlib_says_so(report, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    html = report.to_html()
    assert "matplotlib is not installed" in html
    assert "data:image/png" not in html
    assert "Misclassified comments" in html


def test_cli_writes_html(tmp_path, capsys, gold_path, tfidf_model_dir):
    out = tmp_path / "r.html"
    code = main(["evaluate", "--gold", str(gold_path), "--model", str(tfidf_model_dir), "--bootstrap", "50",
                 "--html", str(out)])
    capsys.readouterr()
    assert code == 0
    html = out.read_text(encoding="utf-8")
    assert "Misclassified comments: test-tfidf" in html and "Paired bootstrap" in html
