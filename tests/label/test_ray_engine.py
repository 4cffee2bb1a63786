"""The Ray engine on a local one-CPU Ray runtime: same records, same order, same rejects as the local engine."""
from __future__ import annotations

import pytest

from conftest import assert_same_records, read_jsonl, write_jsonl
from pipeline.label import LabelError, label_file, rejects_path, work_dir

ray = pytest.importorskip("ray", reason="the ray engine needs the 'ray' extra")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=1, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def dump(tmp_path_factory, gold_records):
    lines = []
    for i in range(1500):
        if i % 101 == 7:
            lines.append("not json" if i % 2 else {"id": f"r{i}", "text": "   "})
        else:
            lines.append({"id": f"r{i}", "text": gold_records[i % len(gold_records)]["text"]})
    return write_jsonl(tmp_path_factory.mktemp("ray") / "dump.jsonl", lines)


def test_ray_engine_matches_the_local_engine(local_ray, dump, tmp_path, tfidf_model_dir):
    from pipeline.label.ray_engine import label_with_ray

    local = tmp_path / "local.jsonl"
    label_file(dump, local, model=tfidf_model_dir, progress=False)
    out = tmp_path / "ray.jsonl"
    # Small ranges: several read tasks whose results must come back in input order.
    s = label_with_ray(dump, out, tfidf_model_dir, fmt="jsonl", out_fmt="jsonl", chunk_size=64,
                       progress=False, split_bytes=20_000)
    assert s.engine == "ray" and s.reconciles and s.read == 1500
    assert_same_records(read_jsonl(out), read_jsonl(local))
    assert read_jsonl(rejects_path(out)) == read_jsonl(rejects_path(local))
    assert not work_dir(out).exists()


def test_ray_engine_through_label_file_writes_parquet(local_ray, dump, tmp_path, tfidf_model_dir):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "o.parquet"
    s = label_file(dump, out, model=tfidf_model_dir, engine="ray", progress=False, force=True)
    rows = pq.read_table(out).to_pylist()
    assert s.labelled == len(rows) and s.rejected == len(read_jsonl(rejects_path(out)))
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(1500) if i % 101 != 7]
    with pytest.raises(LabelError, match="local engine"):
        label_file(dump, out, model=tfidf_model_dir, engine="ray", resume=True)
    with pytest.raises(LabelError, match="exists"):
        label_file(dump, out, model=tfidf_model_dir, engine="ray")
    with pytest.raises(LabelError, match="standard input"):
        label_file("-", tmp_path / "x.jsonl", model=tfidf_model_dir, engine="ray")


def test_ray_engine_reads_a_json_array_like_the_local_engine(local_ray, dump, tmp_path, tfidf_model_dir):
    import json

    elements = []
    for line in dump.read_text(encoding="utf-8").splitlines():
        try:
            elements.append(json.loads(line))
        except json.JSONDecodeError:
            elements.append(["not", "an", "object"])
    src = tmp_path / "dump.json"
    src.write_text(json.dumps(elements, ensure_ascii=False), encoding="utf-8")
    local, out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    label_file(src, local, model=tfidf_model_dir, progress=False)
    s = label_file(src, out, model=tfidf_model_dir, engine="ray", progress=False)
    assert s.reconciles and s.read == len(elements)
    assert_same_records(read_jsonl(out), read_jsonl(local))
    assert read_jsonl(rejects_path(out)) == read_jsonl(rejects_path(local))


def test_ray_engine_reads_a_text_file_in_line_ranges_like_the_local_engine(local_ray, tmp_path, gold_records,
                                                                             tfidf_model_dir):
    from pipeline.label.ray_engine import label_with_ray

    lines = [("" if i % 53 == 3 else gold_records[i % len(gold_records)]["text"].replace("\n", " "))
             for i in range(1200)]
    src = tmp_path / "dump.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    local, out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    label_file(src, local, model=tfidf_model_dir, progress=False)
    s = label_with_ray(src, out, tfidf_model_dir, fmt="text", out_fmt="jsonl", chunk_size=64,
                       progress=False, split_bytes=20_000)
    assert s.reconciles and s.read == sum(1 for t in lines if t.strip())
    assert_same_records(read_jsonl(out), read_jsonl(local))
    assert [r["id"] for r in read_jsonl(out)] == [f"line-{i + 1}" for i, t in enumerate(lines) if t.strip()]


@pytest.mark.parametrize("policy", ["first", "reject"])
def test_ray_engine_applies_the_duplicate_id_policy_like_the_local_engine(policy, local_ray, tmp_path,
                                                                          gold_records, tfidf_model_dir):
    from pipeline.label.ray_engine import label_with_ray

    rows = [{"id": f"d{i % 300}", "text": gold_records[i % len(gold_records)]["text"]} for i in range(400)]
    src = write_jsonl(tmp_path / "dup.jsonl", rows)
    local, out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    ls = label_file(src, local, model=tfidf_model_dir, progress=False, duplicates=policy)
    s = label_with_ray(src, out, tfidf_model_dir, fmt="jsonl", out_fmt="jsonl", chunk_size=64, progress=False,
                       split_bytes=5_000, duplicates=policy)
    assert s.reconciles and (s.labelled, s.rejected, s.duplicate_ids) == (ls.labelled, ls.rejected,
                                                                          ls.duplicate_ids)
    assert_same_records(read_jsonl(out), read_jsonl(local))
    assert read_jsonl(rejects_path(out)) == read_jsonl(rejects_path(local))
