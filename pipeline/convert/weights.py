"""The ``BertModel`` state dict and config of the e5 encoder, from an :class:`~.e5file.E5File`."""
from __future__ import annotations


import numpy as np

from .e5file import E5File


_LAYER_TENSORS = (  # engine name suffix -> BertModel name inside encoder.layer.N, and shape kind
    ("q.w", "attention.self.query.weight", "HH"), ("q.b", "attention.self.query.bias", "H"),
    ("k.w", "attention.self.key.weight", "HH"), ("k.b", "attention.self.key.bias", "H"),
    ("v.w", "attention.self.value.weight", "HH"), ("v.b", "attention.self.value.bias", "H"),
    ("ao.w", "attention.output.dense.weight", "HH"), ("ao.b", "attention.output.dense.bias", "H"),
    ("aln.w", "attention.output.LayerNorm.weight", "H"), ("aln.b", "attention.output.LayerNorm.bias", "H"),
    ("fi.w", "intermediate.dense.weight", "FH"), ("fi.b", "intermediate.dense.bias", "F"),
    ("fo.w", "output.dense.weight", "HF"), ("fo.b", "output.dense.bias", "H"),
    ("oln.w", "output.LayerNorm.weight", "H"), ("oln.b", "output.LayerNorm.bias", "H"),
)


def bert_state_dict(e5: E5File, layers: int | None = None) -> dict[str, np.ndarray]:
    """The ``BertModel`` weights (float32 arrays) of the first ``layers`` layers."""
    n_layers = e5.layers if layers is None else layers
    H, F = e5.hidden, e5.intermediate
    shapes = {"HH": (H, H), "H": (H,), "FH": (F, H), "F": (F,), "HF": (H, F)}
    sd = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", (e5.vocab_size, H)),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos", (e5.max_positions, H)),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", (e5.type_vocab_size, H)),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", (H,)),
    }
    for i in range(n_layers):
        for src, dst, kind in _LAYER_TENSORS:
            sd[f"encoder.layer.{i}.{dst}"] = e5.tensor(f"l{i}.{src}", shapes[kind])
    # e5 has no pooler: zeros make loading deterministic (see the module docstring).
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return sd


def bert_config(e5: E5File, layers: int | None = None) -> dict:
    """``config.json`` for a ``BertModel`` with the file's shapes."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab_size,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers if layers is None else layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "position_embedding_type": "absolute",
        "use_cache": True,
        "classifier_dropout": None,
        "torch_dtype": "float32",
    }
