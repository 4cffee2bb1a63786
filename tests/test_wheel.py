"""The wheel: built from the tracked files, installed into a fresh venv outside the checkout, it labels.

The venv sees the test environment's packages through a ``.pth`` line (so no download),
but not the checkout: ``pipeline`` must come from the wheel, with the default model and
the target list inside it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, read_jsonl

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the tracked files")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(dist), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [whl] = dist.glob("nazar-*.whl")
    return whl


def test_the_wheel_carries_the_default_model_and_the_target_list(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    model_dir = ROOT / "models" / "default"
    for f in (p for p in model_dir.rglob("*") if p.is_file()):
        assert f"pipeline/resources/default_model/{f.relative_to(model_dir).as_posix()}" in names
    for name in ("pipeline/resources/targets.yaml", "pipeline/resources/keywords.yaml",
                 "pipeline/resources/sentiment_lexicon.yaml", "pipeline/resources/behaviour.yaml"):
        assert name in names
    assert not any(n.startswith(("models/", "configs/", "tests/")) for n in names)


def test_the_installed_wheel_labels_the_sample_outside_the_checkout(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The test environment's packages, after the venv's own: nazar's dependencies, never the checkout.
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
                           str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(ROOT / "data" / "samples" / "comments.jsonl", work / "comments.jsonl")
    where = subprocess.run([py, "-c", "import pipeline, pipeline.resources as r; "
                                      "print(pipeline.__file__); print(r.default_model_dir()); print(r.targets_file())"],
                           cwd=work, capture_output=True, text=True, check=True).stdout.split()
    assert all(w.startswith(site) for w in where), where
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([env_dir / "bin" / "nazar", "label", "comments.jsonl", "-o", "out.jsonl", "-q"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = read_jsonl(work / "out.jsonl")
    assert len(rows) == len(read_jsonl(work / "comments.jsonl"))
    assert {r["model"]["name"] for r in rows} == {"default"}
    from pipeline.label import label_file

    label_file(work / "comments.jsonl", tmp_path / "checkout.jsonl", progress=False)
    assert rows == read_jsonl(tmp_path / "checkout.jsonl")  # the same model, the same labels
    # the annotation loop runs from the wheel too: select a batch, export it, audit a gold file
    shutil.copy(ROOT / "data" / "gold" / "seed.jsonl", work / "gold.jsonl")
    for args in (["annotate", "select", "comments.jsonl", "-n", "5", "-o", "batch.jsonl", "--gold", "gold.jsonl",
                  "-q"],
                 ["annotate", "export", "batch.jsonl", "-o", "tasks.json"],
                 ["annotate", "audit", "--gold", "gold.jsonl", "-o", "audit.jsonl", "-q"]):
        proc = subprocess.run([env_dir / "bin" / "nazar", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, (args, proc.stderr)
    assert len(read_jsonl(work / "batch.jsonl")) == 5
    assert (work / "tasks.label_config.xml").is_file()
    assert (work / "audit.jsonl").is_file()
