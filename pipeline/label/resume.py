"""The resume manifest of a labelling run: what ``nazar label --resume`` checks before it continues.

A run writes its parts into ``OUTPUT.parts/`` and records in ``manifest.json`` the input's
fingerprint (path, size, SHA-256), the model's hash, the options and the parts done; a resumed
run refuses to continue when the input, the model or the options differ.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..io import atomic_write_text
from .labeller import LabelError

MANIFEST_FORMAT = 1


def _fingerprint(path: Path) -> dict:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"path": str(path.resolve()), "size": path.stat().st_size, "sha256": h.hexdigest()}


def _part(work: Path, index: int, rejects: bool = False) -> Path:
    return work / (f"part-{index:08d}" + (".rejects.jsonl" if rejects else ".jsonl"))


def _load_manifest(work: Path) -> dict:
    path = work / "manifest.json"
    if not path.is_file():
        raise LabelError(f"{work} holds no manifest.json, so it cannot be resumed; pass --force to start over")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: unreadable manifest ({exc}); pass --force to start over") from None
    if not isinstance(state, dict) or state.get("format") != MANIFEST_FORMAT:
        raise LabelError(f"{path}: not a manifest this version of nazar writes; pass --force to start over")
    return state


def _save_manifest(work: Path, state: dict) -> None:
    atomic_write_text(work / "manifest.json", json.dumps(state, ensure_ascii=False, indent=1) + "\n")


def _check_resumable(state: dict, fingerprint: dict | None, mhash: str, options: dict, work: Path) -> None:
    if fingerprint is None:
        raise LabelError("a run reading standard input cannot be resumed; pass --force to start over")
    old = state.get("input") or {}
    if old.get("sha256") != fingerprint["sha256"] or old.get("size") != fingerprint["size"]:
        raise LabelError(f"cannot resume: the input changed since the interrupted run "
                         f"(was {old.get('size')} bytes, sha256 {str(old.get('sha256'))[:12]}…; now "
                         f"{fingerprint['size']} bytes, sha256 {fingerprint['sha256'][:12]}…); "
                         f"pass --force to start over")
    if state.get("model_hash") != mhash:
        was = state.get("model", {})
        raise LabelError(f"cannot resume: the model changed since the interrupted run (it used "
                         f"{was.get('name')} {was.get('version')}, hash {str(state.get('model_hash'))[:12]}…; "
                         f"now hash {mhash[:12]}…); pass --force to start over")
    old_options = state.get("options", {})
    diff = [f"{k} {old_options.get(k)!r} → {options.get(k)!r}" for k in dict.fromkeys([*old_options, *options])
            if old_options.get(k) != options.get(k)]
    if diff:
        raise LabelError("cannot resume with different options: " + "; ".join(diff) +
                         " (use the interrupted run's options, or pass --force to start over)")
