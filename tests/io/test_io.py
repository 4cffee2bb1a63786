"""The streaming readers and writers: every record accounted for, whatever the bytes."""
from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipeline.io.json_array as pio_json
from pipeline.io import (CsvWriter, InputError, JsonlWriter, ParquetWriter, flat_columns, input_format,
                         output_format, read_csv, read_items, read_json_array, read_jsonl, read_parquet,
                         read_text, read_yaml_mapping)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)

records = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(), st.sampled_from(["a", "a", "b", ""]), st.floats(allow_nan=False), st.none(),
                     json_values),
     "text": st.one_of(st.text(min_size=0, max_size=40), st.sampled_from(["\x00nul", "سلام\r", "\ufeffbom"]),
                       json_values)},
    optional={"meta": json_values})


line_bytes = st.one_of(
    st.binary(max_size=60),
    records.map(lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8")),
    records.map(lambda r: json.dumps(r).encode("ascii")),
    records.map(lambda r: b"\xef\xbb\xbf" + json.dumps(r).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"", b"   ", b"\t", b"\r", b"\x00", b"{", b"[1, 2]", b'{"text": "\xff\xfe"}', b"\xef\xbb\xbf"]),
).filter(lambda b: b"\n" not in b)


def nonblank_lines(data: bytes) -> list[int]:
    """1-based numbers of the lines the reader must account for (a line ends at b'\\n')."""
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    return [i for i, p in enumerate(pieces, 1) if p.strip()]


@FUZZ
@given(st.lists(st.tuples(line_bytes, st.sampled_from([b"\n", b"\r\n"])), max_size=25), st.booleans())
def test_every_nonblank_jsonl_line_yields_exactly_one_item(lines, final_newline):
    data = b"".join(body + end for body, end in lines)
    if not final_newline and data.endswith(b"\n"):
        data = data[:-1]
    items = list(read_jsonl(io.BytesIO(data)))
    assert [it.line for it in items] == nonblank_lines(data)
    for it in items:
        assert it.ok != (it.reason is not None)
        if it.ok:
            assert isinstance(it.record["text"], str) and it.record["text"].strip()
            assert isinstance(it.id, str) and it.id
        else:
            assert it.record is None and it.reason
    assert all(a.end < b.end for a, b in zip(items, items[1:]))


@FUZZ
@given(st.binary(max_size=400))
def test_jsonl_reader_survives_random_bytes(data):
    items = list(read_jsonl(io.BytesIO(data)))
    assert [it.line for it in items] == nonblank_lines(data)


@FUZZ
@given(st.lists(line_bytes, min_size=1, max_size=15), st.data())
def test_jsonl_resume_point_continues_exactly_after_an_item(lines, data):
    raw = b"".join(body + b"\n" for body in lines)
    items = list(read_jsonl(io.BytesIO(raw)))
    if not items:
        return
    k = data.draw(st.integers(0, len(items) - 1))
    rest = list(read_jsonl(io.BytesIO(raw), start=(items[k].end, items[k].line)))
    assert [(it.line, it.id, it.reason) for it in rest] == [(it.line, it.id, it.reason) for it in items[k + 1:]]


def test_jsonl_reader_handles_megabyte_lines_and_deep_nesting():
    big = "س" * 600_000
    data = (json.dumps({"id": 1, "text": big}, ensure_ascii=False).encode() + b"\n"
            + b"[" * 100_000 + b"]" * 100_000 + b"\n"
            + json.dumps({"id": 2, "text": "x", "deep": [[[[{"a": [1]}]]]]}).encode() + b"\n")
    items = list(read_jsonl(io.BytesIO(data), max_chars=10 ** 7))
    assert [it.line for it in items] == [1, 2, 3]
    assert items[0].ok and len(items[0].record["text"]) == 600_000
    assert not items[1].ok and "JSON" in items[1].reason
    assert items[2].ok and items[2].id == "2"
    capped = list(read_jsonl(io.BytesIO(data)))
    assert "longer than" in capped[0].reason
    cut = list(read_jsonl(io.BytesIO(data), truncate=True))
    assert cut[0].ok and len(cut[0].record["text"]) == 20000


def test_jsonl_reasons_name_the_problem():
    data = (b'{"id": "a", "text": ""}\n{"id": "b", "text": 3}\n{"id": "c"}\nnot json\n"str"\n'
            b'{"id": "d", "text": "\xff"}\n{"text": "ok"}\n{"id": 7.0, "text": "ok"}\n{"id": null, "text": "ok"}\n')
    items = list(read_jsonl(io.BytesIO(data)))
    reasons = [it.reason for it in items]
    assert "empty" in reasons[0] and "not a string" in reasons[1] and "missing" in reasons[2]
    assert "invalid JSON" in reasons[3] and "expected a JSON object" in reasons[4]
    assert "not UTF-8" in reasons[5]
    assert [it.id for it in items[6:]] == ["line-7", "7", "line-9"]  # a generated id never equals an explicit 7


# -- CSV / TSV ---------------------------------------------------------------------------------
# csv.writer leaves a field holding a bare "\r" unquoted (ambiguous CSV), so cells have none.
cells = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r"), max_size=30)


@FUZZ
@given(st.lists(st.tuples(st.one_of(st.integers(), cells), cells), max_size=20),
       st.sampled_from([",", "\t"]), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_csv_written_rows_read_back_one_item_each(rows, delimiter, newline, bom):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    writer.writerow(["id", "text"])
    writer.writerows(rows)
    data = (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")
    items = list(read_csv(io.BytesIO(data), delimiter=delimiter))
    expected = [(str(i), t) for i, t in rows]
    assert len(items) == len(expected)
    assert all(a.line < b.line for a, b in zip(items, items[1:]))
    for it, (rid, text) in zip(items, expected):
        if text.strip():
            assert it.ok, it.reason
            assert it.record["text"] == text
            assert it.id == (rid if rid.strip() else f"line-{it.line}")
        else:
            assert "empty" in it.reason


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([",", "\t"]))
def test_csv_reader_survives_random_bytes(body, delimiter):
    data = b"text" + delimiter.encode() + b"id\n" + body
    items = list(read_csv(io.BytesIO(data), delimiter=delimiter))
    n_lines = data.count(b"\n") + 1
    assert all(1 < it.line <= n_lines for it in items)
    assert all(a.line < b.line for a, b in zip(items, items[1:]))
    assert all(it.ok or it.reason for it in items)


def test_csv_rejects_bad_rows_and_keeps_going(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("id,text\n1,خوب\n2,a,extra\n3,\n4,\"two\nlines\"\n\n5,\xff\n6,ok\r\n".encode("utf-8")
                     .replace(b"\xc3\xbf", b"\xff"))
    items = list(read_csv(path))
    assert [it.line for it in items] == [2, 3, 4, 5, 8, 9]
    assert items[0].ok and items[0].record["text"] == "خوب"
    assert "3 fields" in items[1].reason and "empty" in items[2].reason
    assert items[3].ok and items[3].record["text"] == "two\nlines"
    assert "not UTF-8" in items[4].reason
    assert items[5].ok and items[5].id == "6"
    rest = list(read_csv(path, start=(items[3].end, items[3].line + 1)))
    assert [it.line for it in rest] == [8, 9]


def test_csv_without_text_column_is_an_input_error(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,body\n1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column 'text'.*body"):
        list(read_csv(path))
    assert [it.record["text"] for it in read_csv(path, text_field="body")] == ["x"]


def test_csv_without_id_column_numbers_the_lines(tmp_path):
    path = tmp_path / "in.tsv"
    path.write_text("text\nیک\nدو\n", encoding="utf-8")
    assert [it.id for it in read_items(path, "tsv")] == ["line-2", "line-3"]


# -- Parquet ------------------------------------------------------------------------------------
def test_parquet_rows_read_back_one_item_each(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    texts = ["سلام", None, "", "x" * 30, "ok", "دوباره"] * 50
    ids = [1, 2, None, 4, 5, 5] * 50
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ids, "text": texts, "other": list(range(300))}), path, row_group_size=64)
    items = list(read_parquet(path, max_chars=20, batch_rows=17))
    assert [it.line for it in items] == list(range(1, 301))
    assert [it.ok for it in items[:6]] == [True, False, False, False, True, True]
    assert "missing" in items[1].reason and "empty" in items[2].reason and "longer" in items[3].reason
    assert items[2].id == "row-3" and items[5].id == "5"
    rest = list(read_parquet(path, max_chars=20, start_row=130))
    assert [it.line for it in rest] == list(range(131, 301))
    with pytest.raises(InputError, match="no column 'body'"):
        list(read_parquet(path, text_field="body"))


def test_parquet_text_column_of_numbers_is_rejected_per_row(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), path)
    items = list(read_parquet(path))
    assert [it.reason for it in items] == ["field 'text' is not a string (int)"] * 2


# -- plain text ----------------------------------------------------------------------------------
@FUZZ
@given(st.lists(st.tuples(line_bytes, st.sampled_from([b"\n", b"\r\n"])), max_size=25), st.data())
def test_every_nonblank_text_line_is_one_comment_with_its_line_number(lines, data):
    raw = b"".join(body + end for body, end in lines)
    items = list(read_text(io.BytesIO(raw)))
    assert [it.line for it in items] == nonblank_lines(raw)
    assert [it.id for it in items] == [f"line-{n}" for n in nonblank_lines(raw)]
    for it, body in zip(items, [b for b, _ in lines if b.strip()]):
        if it.ok:
            assert it.record["text"].encode("utf-8") == body.rstrip(b"\r").removeprefix(b"\xef\xbb\xbf" if it.line == 1 else b"")
        else:
            assert it.record is None and it.reason
    if items:
        k = data.draw(st.integers(0, len(items) - 1))
        rest = list(read_text(io.BytesIO(raw), start=(items[k].end, items[k].line)))
        assert [(r.line, r.record, r.reason) for r in rest] == [(r.line, r.record, r.reason) for r in items[k + 1:]]


# -- JSON arrays -------------------------------------------------------------------------------
def _as_jsonl(elements) -> list:
    """What the JSONL reader makes of the same elements, one per line."""
    data = b"".join(json.dumps(e, ensure_ascii=False).encode("utf-8") + b"\n" for e in elements)
    out = []
    for it, e in zip(read_jsonl(io.BytesIO(data)), elements):
        rec = it.record
        if rec is not None and rec["id"] == f"line-{it.line}" and e.get("id") != rec["id"]:
            rec = {**rec, "id": f"item-{it.line}"}  # a generated id names the array position
        out.append((rec, it.reason))
    return out


@FUZZ
@given(st.lists(st.one_of(records, json_values), max_size=20), st.sampled_from([None, 0, 2]),
       st.sampled_from([1, 3, 64, 1 << 16]))
def test_a_json_array_yields_what_jsonl_yields_for_the_same_records(elements, indent, chunk):
    data = json.dumps(elements, ensure_ascii=False, indent=indent).encode("utf-8")
    old, pio_json._JSON_CHUNK = pio_json._JSON_CHUNK, chunk  # small chunks cut elements at every byte
    try:
        items = list(read_json_array(io.BytesIO(data)))
        assert [it.line for it in items] == list(range(1, len(elements) + 1))
        got = [(it.record, it.reason) for it in items]
        # Missing ids fall back to item-N, N the position in the array, as to line-N in JSONL.
        assert got == _as_jsonl(elements)
        assert all(a.end < b.end for a, b in zip(items, items[1:]))
        for k, it in enumerate(items):
            rest = list(read_json_array(io.BytesIO(data), start=(it.end, it.line)))
            assert [(r.line, r.record, r.reason) for r in rest] == [(r.line, r.record, r.reason)
                                                                   for r in items[k + 1:]]
    finally:
        pio_json._JSON_CHUNK = old


@FUZZ
@given(st.binary(max_size=300))
def test_the_json_array_reader_survives_random_bytes(data):
    try:
        items = list(read_json_array(io.BytesIO(b"[" + data)))
    except InputError:  # pragma: no cover - only the top level can raise
        raise AssertionError("an opened array never raises")
    assert all(it.ok != (it.reason is not None) for it in items)


def test_json_array_rejects_name_each_bad_element_and_a_cut_off_end():
    data = ('\ufeff [{"id": "a", "text": "سلام"}, 5, {"text": 3}, {"text": "بدون شناسه"},\n'
            ' {"text": "ok" "x"}, {"text": "نیمه').encode("utf-8")
    items = list(read_json_array(io.BytesIO(data)))
    assert [(it.line, it.id) for it in items if it.ok] == [(1, "a"), (4, "item-4")]
    assert [(it.line, it.reason.split(":")[0]) for it in items if not it.ok] == [
        (2, "expected a JSON object, got int"), (3, "field 'text' is not a string (int)"),
        (5, "invalid JSON"), (6, "the file ends inside this record")]


@pytest.mark.parametrize("data, n", [(b"", 0), (b" \n", 0), (b"[]", 0), (b"[ ]\n", 0),
                                     (b'[{"text": "x"},]', 1), (b'[{"text": "x"}', 1)])
def test_empty_and_unclosed_arrays_lose_nothing(data, n):
    items = list(read_json_array(io.BytesIO(data)))
    assert len(items) == n and all(it.ok for it in items)


def test_a_json_file_that_is_not_an_array_says_what_to_do():
    with pytest.raises(InputError, match="pass --format jsonl"):
        list(read_json_array(io.BytesIO(b'{"text": "a"}\n{"text": "b"}\n')))
    with pytest.raises(InputError, match="expected a JSON array of records"):
        list(read_json_array(io.BytesIO(b'"text"')))


def test_a_json_file_with_one_record_per_line_is_read_as_jsonl(tmp_path):
    lines = tmp_path / "lines.json"
    lines.write_bytes(b'\xef\xbb\xbf  {"text": "a"}\n{"text": "b"}\n')
    array = tmp_path / "array.json"
    array.write_text('\n[{"text": "a"}]', encoding="utf-8")
    assert input_format(lines) == "jsonl" and input_format(array) == "json"
    assert input_format(lines, "json") == "json"
    assert [it.record["text"] for it in read_items(lines, input_format(lines))] == ["a", "b"]
    assert [it.record["text"] for it in read_items(array, input_format(array))] == ["a"]
    with pytest.raises(InputError, match="extension"):
        output_format("out.json")


# -- formats and writers --------------------------------------------------------------------------
def test_formats_from_extensions():
    assert input_format("a.jsonl") == "jsonl" and input_format("-") == "jsonl"
    assert input_format("a.CSV") == "csv" and input_format("a.tsv") == "tsv"
    assert input_format("a.parquet") == "parquet" and input_format("a.docx", "csv") == "csv"
    assert input_format("a.txt") == "text"
    with pytest.raises(InputError, match="--format"):
        input_format("a.docx")
    with pytest.raises(InputError, match="extension"):
        output_format("o.txt")
    assert output_format("o.parquet") == "parquet"
    with pytest.raises(InputError, match="extension"):
        output_format("o.xlsx")


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
def test_writers_replace_atomically_and_abort_cleanly(tmp_path, kind):
    if kind == "parquet":
        pytest.importorskip("pyarrow")
    path = tmp_path / f"out.{kind}"
    path.write_text("precious", encoding="utf-8")
    cols = flat_columns(["sentiment"], {"sentiment": ["NEGATIVE", "POSITIVE"]})
    make = {"jsonl": lambda: JsonlWriter(path), "csv": lambda: CsvWriter(path, cols),
            "parquet": lambda: ParquetWriter(path, cols)}[kind]
    with pytest.raises(RuntimeError):
        with make() as w:
            w.write({"id": "1", "sentiment": "POSITIVE", "p_sentiment_NEGATIVE": 0.1})
            raise RuntimeError("boom")
    assert path.read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    with make() as w:
        w.write({"id": "1", "sentiment": "POSITIVE", "p_sentiment_NEGATIVE": 0.1})
    assert path.read_bytes() != b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


class _Custom(ValueError):
    pass


@pytest.mark.parametrize("content, message", [
    ("a: [1, 2\n", "invalid YAML"),
    ("- just\n- a list\n", "top level must be a mapping, not list"),
    ("plain words\n", "top level must be a mapping, not str"),
])
def test_read_yaml_mapping_names_the_file_in_every_error(tmp_path, content, message):
    path = tmp_path / "conf.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(_Custom, match=message) as info:
        read_yaml_mapping(path, "test file", _Custom)
    assert "conf.yaml" in str(info.value)


def test_read_yaml_mapping_missing_file_and_encodings(tmp_path):
    with pytest.raises(_Custom, match="test file not found"):
        read_yaml_mapping(tmp_path / "nope.yaml", "test file", _Custom)
    with pytest.raises(FileNotFoundError, match="test file not found"):
        read_yaml_mapping(tmp_path / "nope.yaml", "test file", _Custom, missing=FileNotFoundError)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(_Custom, match="latin1.yaml: not UTF-8"):
        read_yaml_mapping(latin1, "test file", _Custom)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# only a comment\n", encoding="utf-8")
    assert read_yaml_mapping(empty, "test file", _Custom) == {}
    persian = tmp_path / "fa.yaml"
    persian.write_text("words: [خوب, بد]\n", encoding="utf-8")
    assert read_yaml_mapping(persian, "test file", _Custom) == {"words": ["خوب", "بد"]}


def test_read_yaml_mapping_builds_no_python_objects(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("x: !!python/object/apply:os.getcwd []\n", encoding="utf-8")
    with pytest.raises(_Custom, match="invalid YAML"):
        read_yaml_mapping(path, "test file", _Custom)
