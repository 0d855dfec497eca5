"""docs/providers.md's coverage matrix (what each provider's package reads and how its
signatures were proven, one row per provider) and its gaps (what each spec states it cannot
say), each cell Markdown; and ``docs_entry``, all the document shows of one provider.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

from generator import model as m
from generator.parse.callbacks import signing_words
from generator.python import escape
from generator.python.readme_view import at_a_glance, polling_lines

_PROOF_WORDS = {
    "sdk": "SDK algorithm",
    "example": "published example",
    "description": "the docs' description only (no SDK or published example exists)",
}


@dataclass(frozen=True)
class CoverageRow:
    provider: str
    pull: str
    push: str
    auth: str
    push_verification: str
    proven_by: str
    status_values: str


# Steps that only lay credentials out (``{user}:{password}`` for HTTP Basic) sign nothing.
_LAYOUT_STEPS = frozenset({"format"})


def is_signed(scheme: m.AuthScheme) -> bool:
    return any(kind not in _LAYOUT_STEPS for kind in scheme.step_kinds)


def needs_proof(provider: m.Provider) -> list[str]:
    """What of a provider must be proven against its SDK or a published example: every auth
    scheme that signs (more than credentials laid out) and every callback checked by a
    signature or a signed token (not unsigned, not in code, not a fixed credential compared)."""
    schemes = [f"auth.{s.name}" for s in provider.auth.schemes if is_signed(s)]
    callbacks = [
        f"callbacks.{c.name}"
        for c in provider.callbacks
        if {"public_key", "jwt"} & set(c.definition.get("verify", {}))
        or c.definition.get("verify", {}).get("sign")
    ]
    return schemes + callbacks


def _scheme_words(scheme: m.AuthScheme) -> str:
    words = signing_words(scheme.definition.get("sign", [])) or (
        "signed" if is_signed(scheme) else "credentials as sent"
    )
    return f"{escape.markdown_code(scheme.name)} ({escape.markdown(words)})"


def _proofs(provider: m.Provider) -> str:
    proofs = {p.what: p for p in provider.proofs}
    cells = []
    for what in dict.fromkeys([*needs_proof(provider), *proofs]):
        proof = proofs.get(what)
        shown = (
            f"[{_PROOF_WORDS[proof.by]}]({proof.source})"
            + (f" ({escape.markdown(proof.detail)})" if proof.detail else "")
            if proof
            else "not proven"
        )
        cells.append(f"{escape.markdown_code(what)}: {shown}")
    return "<br>".join(cells) or "— (nothing signed)"


def coverage_row(provider: m.Provider) -> CoverageRow:
    op = provider.receipts_operation
    raw_values = sum(len(v.raw_values) for enum in provider.statuses for v in enum.values)
    codes = len(provider.errors)
    return CoverageRow(
        provider=f"{escape.markdown_code(provider.id)} {escape.markdown(provider.title)}",
        pull=escape.markdown_code(op.name) if op is not None else "—",
        push="<br>".join(escape.markdown_code(c.name) for c in provider.callbacks) or "—",
        auth="<br>".join(_scheme_words(s) for s in provider.auth.schemes) or "— (push only)",
        push_verification="<br>".join(escape.markdown(c.verification_brief) for c in provider.callbacks)
        or "—",
        proven_by=_proofs(provider),
        status_values=f"{raw_values} status values, {codes} error code{'s' if codes != 1 else ''}",
    )


@dataclass(frozen=True)
class GapRow:
    provider: str
    what: str
    why: str


def gap_rows(providers: list[m.Provider]) -> list[GapRow]:
    """One row per gap a spec states (``gaps``), providers in the docs' order: spec text,
    escaped as Markdown table cells."""
    return [
        GapRow(
            provider=f"{escape.markdown_code(provider.id)} {escape.markdown(provider.title)}",
            what=escape.markdown(gap.what),
            why=escape.markdown(gap.why),
        )
        for provider in providers
        for gap in provider.gaps
    ]


def docs_entry(provider: m.Provider) -> str:
    """All docs/providers.md shows of one provider, as JSON: its rows of the tables (each cell
    Markdown), its raw values under each canonical status, its polling lines, and what its
    own section prints of the model. The document is a function of these entries alone, so
    each is kept in the cache under its spec's hash and ``dlrgen docs`` (and ``generate``,
    which refreshes the document) reads only the specs that changed."""
    matrix: dict[str, list[str]] = {}
    for enum in provider.statuses:
        for value in enum.values:
            shown = " / ".join(escape.markdown_code(raw) for raw in value.raw_values)
            matrix.setdefault(value.canonical, []).append(f"{shown} ({enum.class_name})")
    shown_of_provider = {
        "id": provider.id,
        "title": provider.title,
        "docs": provider.docs,
        "spec_file": provider.spec_file,
        "package": provider.package,
        "statuses": [
            {
                "class_name": enum.class_name,
                "values": [
                    {"raw_values": list(v.raw_values), "member": v.member, "canonical": v.canonical}
                    for v in enum.values
                ],
            }
            for enum in provider.statuses
        ],
        "rules": [{"key": rule.key, "description": rule.description} for rule in provider.rules],
        "auth": {
            "schemes": [{"name": s.name, "description": s.description} for s in provider.auth.schemes],
            "default_scheme": provider.auth.default_scheme,
            "credentials": [{"name": c.name} for c in provider.auth.credentials],
        },
        "operations": bool(provider.operations),
    }
    entry = {
        "coverage": asdict(coverage_row(provider)),
        "glance": asdict(at_a_glance(provider)),
        "gaps": [asdict(row) for row in gap_rows([provider])],
        "matrix": list(matrix.items()),  # pairs: a mapping would be read back as attributes
        "polling": polling_lines(provider.polling),
        "provider": shown_of_provider,
    }
    return json.dumps(entry, sort_keys=True)


def read_docs_entry(text: str) -> Any:
    """An entry as the template reads it: every mapping an object with its keys as attributes
    (a plain dict's own methods, ``values`` or ``items``, would hide keys of those names)."""
    return json.loads(text, object_hook=lambda fields: SimpleNamespace(**fields))
