"""Model kinds behind one contract; see :mod:`pipeline.classifiers.base`."""
from .base import KINDS, Model, ModelError, NotFittedError, kind_class, load_model, model_hash

__all__ = ["KINDS", "Model", "ModelError", "NotFittedError", "kind_class", "load_model", "model_hash"]
