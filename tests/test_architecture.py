"""The package's imports point down its layers and never form a cycle (lazy imports included).

Layers, lowest first: shared ground (errors, schema, resources, the work lock); text and
file primitives (normalise, tokenise, io); what builds on them (targets, lexicon, data,
config, metrics, tables); models (the kinds, the checkpoint builder and the static-embedding distiller); jobs (label and
its engines, evaluate and its report, behaviour, train, agreement, the annotation loop); the command line. A
module may import from its own layer or any lower one. A new module must be given a layer here.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

LAYERS = [
    {"errors", "schema", "resources", "worklock"},
    {"normalize", "normalize.chars", "normalize.entities", "normalize.spacing", "normalize.halfspace",
     "normalize.emphasis", "normalize.normalizer", "tokenize", "io", "io.items", "io.files", "io.formats", "io.json_array", "io.readers", "io.writers"},
    {"targets", "lexicon", "data", "config", "metrics", "tables"},
    {"classifiers", "classifiers.params", "classifiers.base", "classifiers.heads", "classifiers.baselines", "classifiers.encoder",
     "classifiers.tfidf", "classifiers.torch_common", "classifiers.transformer", "classifiers.setfit", "classifiers.abstain",
     "classifiers.ensemble", "convert", "convert.e5file", "convert.weights", "convert.tokenizer", "convert.verify",
     "convert.build", "distill"},
    {"label", "label.labeller", "label.job", "label.resume", "label.ray_engine", "evaluate", "evaluate.scoring",
     "evaluate.predictions", "evaluate.report", "evaluate.html_report", "evaluate.benchmark", "evaluate.behaviour", "train",
     "agreement",
     "annotate", "annotate.records", "annotate.select", "annotate.exchange", "annotate.merge", "annotate.audit",
     "annotate.terminal"},
    {"cli", "cli.common", "cli.normalize", "cli.label", "cli.evaluate", "cli.train", "cli.annotate", "cli.__main__",
     "__main__", ""},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
PACKAGE = ROOT / "pipeline"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its code (module level or inside functions)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("pipeline"):
                target = node.module[len("pipeline."):] if node.module != "pipeline" else ""
            else:
                continue
            for candidate in [target] + [f"{target}.{a.name}".lstrip(".") for a in node.names]:
                if candidate in MODULES and candidate != name:
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pipeline."):
                    target = alias.name[len("pipeline."):]
                    if target in MODULES and target != name:
                        found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_every_module_has_a_layer():
    assert set(MODULES) <= set(LAYER), f"give these modules a layer: {sorted(set(MODULES) - set(LAYER))}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    up = sorted(dep for dep in GRAPH[name] if LAYER.get(dep, 99) > LAYER.get(name, -1))
    assert not up, f"pipeline.{name} (layer {LAYER.get(name)}) imports from higher layers: {up}"


def test_no_import_cycles():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(GRAPH[node]):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_the_graph_sees_lazy_imports():
    assert "label.ray_engine" in GRAPH["label.job"]  # imported inside label_file only
    assert "evaluate.html_report" in GRAPH["evaluate.report"]  # imported inside to_html only
