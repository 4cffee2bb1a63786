from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.normalize import Normalizer
from pipeline.targets import Mention, find_mentions, load_targets, mention_features

ROOT = Path(__file__).resolve().parent.parent


def _t(text):
    return [(m.target, m.text) for m in find_mentions(text)]


def test_the_default_list_is_the_checkouts_one_copy():
    from pipeline.resources import targets_file

    assert targets_file() == ROOT / "configs" / "targets.yaml"
    ts = load_targets()
    assert ts.groups["telegram"] == "telegram" and ts.groups["eitaa"] == "domestic"


@pytest.mark.parametrize("text,expected", [
    ("ایتا خوبه", [("eitaa", "ایتا")]),
    ("نهایتا ایتا بهتره", [("eitaa", "ایتا")]),
    ("نهایتا", []),
    ("ایتارو نصب کردم", [("eitaa", "ایتا")]),
    ("تلگرام بهتره", [("telegram", "تلگرام")]),
    ("تلگرامی ها", [("telegram", "تلگرام")]),
    ("Telegram is better", [("telegram", "Telegram")]),
    ("TELEGRAM", [("telegram", "TELEGRAM")]),
    ("تلگرام طلایی و هاتگرام", [("telegram", "تلگرام طلایی"), ("telegram", "هاتگرام")]),
    ("eitaa va rubika", [("eitaa", "eitaa"), ("rubika", "rubika")]),
    ("آی گپ", [("igap", "آی گپ")]),
    ("igap", [("igap", "igap")]),
    ("ويسپي", [("wispi", "ويسپي")]),
    ("سروش پلاس", [("soroush", "سروش پلاس")]),
    ("بله مسنجر", [("bale", "بله مسنجر")]),
    ("پیام رسان های داخلی", [("domestic_generic", "پیام رسان های داخلی")]),
    ("پیام\u200cرسان\u200cهای داخلی", [("domestic_generic", "پیام\u200cرسان\u200cهای داخلی")]),
    # ambiguous words without app context
    ("بله، تلگرام بهتره", [("telegram", "تلگرام")]),
    ("بله من قبول دارم", []),
    ("سروش جان سلام", []),
    ("من با دوستام گپ زدم", []),
    ("gap between us", []),
    # ambiguous words in app context
    ("سروش، ایتا، بله و گپ", [("soroush", "سروش"), ("eitaa", "ایتا"), ("bale", "بله"), ("gap", "گپ")]),
    ("پیام‌رسان سروش عالیه", [("soroush", "سروش")]),
    ("کاش بله رو نصب کنم", [("bale", "بله")]),
    ("برنامه گپ خوب نیست", [("gap", "گپ")]),
    # «تو X» ("in X") marks an app, except for the strict بله
    ("دیروز تو سروش یه عکس فرستادم", [("soroush", "سروش")]),
    ("توی گپ کسی نیست", [("gap", "گپ")]),
    ("تو بله گفتی", []),
    ("آقای سروش گفت", []),
    # two suffixes, colloquial plurals
    ("ما همه تو تلگرامیم", [("telegram", "تلگرام")]),
    ("تلگرامیا کجان", [("telegram", "تلگرام")]),
    ("پیام‌رسانای داخلی هنوز کندن", [("domestic_generic", "پیام\u200cرسانای داخلی")]),
    ("مسنجرای ایرانی", [("domestic_generic", "مسنجرای ایرانی")]),
    ("تلگرام و ایتا", [("telegram", "تلگرام"), ("eitaa", "ایتا")]),
])
def test_mentions(text, expected):
    assert _t(text) == expected


def test_spans_index_the_text():
    text = "من از ایتا و تلگرام استفاده می‌کنم"
    for m in find_mentions(text):
        assert isinstance(m, Mention)
        assert text[m.start:m.end] == m.text
        assert m.group in ("domestic", "telegram")


def test_mentions_on_normalised_text():
    text = Normalizer()("#نه_به_تلگرام  پیامرسانهای داخلی ايتا")
    assert {m.target for m in find_mentions(text)} == {"telegram", "domestic_generic", "eitaa"}


def test_mention_is_frozen():
    import dataclasses

    m = find_mentions("ایتا")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.start = 3  # type: ignore[misc]
    assert m.start == 0


def test_features():
    f = mention_features("سروش پلاس، ایتا و تلگرام")
    assert f["n_domestic"] == 2 and f["n_telegram"] == 1
    assert f["has_both"] == 1 and f["n_targets"] == 3
    assert f["mention_eitaa"] == 1 and f["first_is_telegram"] == 0
    empty = mention_features("سلام")
    assert empty["n_domestic"] == 0 and empty["first_is_telegram"] == -1
    assert all(isinstance(v, float) for v in f.values())


def test_odd_input():
    assert find_mentions("") == []
    assert find_mentions("\ud800\x00") == []


def test_target_list_round_trips_through_plain_data():
    from pipeline.targets import TargetSet

    ts = load_targets()
    again = TargetSet(ts.to_dict())
    text = "تو سروش و ایتا و تلگرام"
    assert [(m.target, m.start) for m in again.find(text)] == [(m.target, m.start) for m in ts.find(text)]
    data = ts.to_dict()
    data["targets"].clear()
    assert ts.find("ایتا"), "to_dict must hand out a copy"


def test_target_list_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="target list not found"):
        load_targets(tmp_path / "missing.yaml")
    bad = tmp_path / "targets.yaml"
    bad.write_text("targets:\n  - aliases: [x]\n", encoding="utf-8")  # no id
    with pytest.raises(ValueError, match="targets.yaml"):
        load_targets(bad)
    bad.write_text("version: 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="targets.yaml: .*'targets' list"):
        load_targets(bad)
