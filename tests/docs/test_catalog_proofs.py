"""The catalog's proofs (``proven_by``): every scheme that signs and every callback checked by
a signature in specs/ names a test that proves it against the provider's SDK algorithm or
published example, and that test exists and cites the source the spec names."""

from __future__ import annotations

import ast
from typing import Any
import functools
from pathlib import Path

import pytest

from tests.conftest import ROOT, catalog_providers
from generator.python.docs_view import needs_proof


def _providers() -> tuple[Any, ...]:
    return catalog_providers()


@functools.cache
def _test_functions(path: Path) -> dict[str, str]:
    """Each test function of a file and its source text."""
    source = path.read_text(encoding="utf-8")
    return {
        node.name: ast.get_source_segment(source, node) or ""
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
    }


def test_every_signature_in_the_catalog_is_proven() -> None:
    """A spec that states its proofs states them all: every scheme that signs and every
    callback checked by a signature has an entry. A spec with no ``proven_by`` at all (one a
    user has just added) is not failed here: docs/providers.md shows it "not proven", and
    .ci/run holds this repository's own catalog to having none."""
    unproven = [
        f"{provider.spec_file}: {what}"
        for provider in _providers()
        if provider.proofs
        for what in needs_proof(provider)
        if what not in {proof.what for proof in provider.proofs}
    ]
    assert unproven == [], "add a proven_by entry (docs/spec-format.md#proven_by) for each"


def test_each_proof_names_a_test_that_cites_its_source() -> None:
    wrong = []
    for provider in _providers():
        for proof in provider.proofs:
            file, _, name = proof.test.partition("::")
            path = ROOT / file
            if not path.is_file():
                wrong.append(f"{provider.id} {proof.what}: no file {file}")
            elif name not in _test_functions(path):
                wrong.append(f"{provider.id} {proof.what}: no test {name} in {file}")
            elif proof.source not in _test_functions(path)[name] and proof.source not in _module_doc(path):
                wrong.append(f"{provider.id} {proof.what}: {proof.test} does not cite {proof.source}")
    assert wrong == []


def _module_doc(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


@pytest.mark.parametrize("signs", [True, False])
def test_what_needs_a_proof_is_what_signs(signs: bool) -> None:
    """The check can fail: a spec whose scheme signs needs a proof, one that sends its
    credentials as they are (HTTP Basic laid out by a format step) does not."""
    twilio = next(p for p in _providers() if any(s.name == "basic" for s in p.auth.schemes))
    itnio = next(p for p in _providers() if any(s.step_kinds == ("hash",) for s in p.auth.schemes))
    provider = itnio if signs else twilio
    schemes = [w for w in needs_proof(provider) if w.startswith("auth.")]
    assert bool(schemes) is signs
