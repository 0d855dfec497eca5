"""Stage 3, the Python view of a provider: everything the provider's templates write, as one
typed view (``ProviderView``), computed from the model; the clients' part is ``client_view``,
the README's prose ``readme_view``, receipts, rules, paging and callbacks ``view``."""

from __future__ import annotations

from dataclasses import dataclass

import dlr_core

from generator import model as m
from generator.canonical import CANONICAL_STATUSES
from generator.python import auth_code
from generator.python import view as python_view
from generator.python.client_types import ClientView
from generator.python.client_view import client_view, retry_arguments
from generator.python.escape import python_literal, python_tuple
from generator.python.names import PACKAGE_EXPORTS
from generator.python.readme_view import (
    number,
    param_note,
    parse_example,
    polling_lines,
    readme_example,
    required_credentials,
)

# What a package of a provider that only pushes its reports (no operations) leaves out: it
# has no API to call, so no client, wire description, error table or answer receipts.
PULL_FILES = ("api.py", "client.py", "errors.py", "receipts.py")
PULL_EXPORTS = frozenset(
    {"API", "AsyncClient", "Client", "Credentials", "DEFAULT_SERVER", "ERRORS", "SERVERS"}
)


@dataclass(frozen=True)
class ProviderView:
    """What a provider's templates read (each field is a template variable of that name; the
    client's, when the provider has operations, come from ``client``)."""

    provider: m.Provider
    version: str
    distribution: str
    runtime_requirement: str
    envelope_success_value: str
    model_classes: list[str]
    receipt_functions: list[str]
    field_types: list[str]
    status_exports: list[str]
    package_exports: list[str]
    receipt_helpers: list[str]
    receipts_use_delivery_status: bool
    receipt_views: dict[str, python_view.ReceiptView]  # by operation name
    rule_views: list[python_view.RuleView]
    time_choice_views: list[python_view.TimeChoiceView]
    scheme_code: dict[str, tuple[str, tuple[str, ...]]]  # scheme -> expression, modules it names
    auth_modules: list[str]
    enum_bases: list[str]
    receipt_status_imports: list[str]
    receipt_model_imports: list[str]
    polling_durations: list[tuple[str, int | float]]
    polling_lines: list[str]
    final: dict[str, bool]  # canonical status -> whether it is final
    param_notes: dict[str, dict[str, str]]  # operation -> parameter -> note
    secret_credentials: list[str]
    required_credentials: list[str]
    pem_credentials: list[str]
    base64_credentials: list[str]
    example: str
    parse_example: str
    retry_arguments: list[tuple[str, str]]
    callbacks_view: python_view.CallbacksView | None
    client: ClientView | None  # None for a provider that only pushes its reports


def provider_view(provider: m.Provider) -> ProviderView:
    model_classes = sorted(provider.models_schema["$defs"])
    status_exports = sorted(
        [e.class_name for e in provider.statuses]
        + [e.function_name for e in provider.statuses]
        + [r.function_name for r in provider.rules]
    )
    receipt_functions = [op.receipts.function_name for op in provider.operations if op.receipts]
    field_types = sorted(
        [e.field_type_name for e in provider.statuses]
        + [t.name for t in provider.time_patterns]
        + [t.name for t in provider.time_choices]
    )
    exports = [name for name in PACKAGE_EXPORTS if provider.operations or name not in PULL_EXPORTS]
    package_exports = sorted(model_classes + status_exports + field_types + receipt_functions + exports)
    scheme_code = {scheme.name: auth_code.scheme_code(scheme.definition) for scheme in provider.auth.schemes}
    receipt_views = {
        op.name: python_view.receipt_view(op.receipts) for op in provider.operations if op.receipts
    }
    views = list(receipt_views.values())
    enum_bases = sorted({"IntEnum" if e.raw_type == "int" else "Enum" for e in provider.statuses})
    receipt_helpers = sorted({name for view in views for name in view.helpers})
    receipt_status_imports = sorted({name for view in views for name in view.status_imports})
    receipt_model_imports = sorted(
        {name for op in provider.operations if op.receipts for name in (op.response_class, op.params_class)}
    )
    polling = provider.polling
    polling_durations = [
        (name, number(seconds))
        for name, seconds in (
            ("first_check_after", polling.first_check_after),
            ("interval", polling.interval),
            ("give_up_after", polling.give_up_after),
            ("provider_sync_interval", polling.provider_sync_interval),
            ("rate_period", polling.rate_limit.per_seconds if polling.rate_limit else None),
        )
        if seconds is not None
    ]
    return ProviderView(
        provider=provider,
        version=provider.version,
        distribution=provider.distribution_name,
        runtime_requirement=runtime_requirement(provider),
        envelope_success_value=_success_value(provider.envelope),
        model_classes=model_classes,
        receipt_functions=receipt_functions,
        field_types=field_types,
        status_exports=status_exports,
        package_exports=package_exports,
        receipt_helpers=receipt_helpers,
        receipts_use_delivery_status=any(view.uses_delivery_status for view in views),
        receipt_views=receipt_views,
        rule_views=[python_view.rule_view(rule) for rule in provider.rules],
        time_choice_views=[python_view.time_choice_view(choice) for choice in provider.time_choices],
        scheme_code=scheme_code,
        auth_modules=sorted({module for _, modules in scheme_code.values() for module in modules}),
        enum_bases=enum_bases,
        receipt_status_imports=receipt_status_imports,
        receipt_model_imports=receipt_model_imports,
        polling_durations=polling_durations,
        polling_lines=polling_lines(polling),
        final={s.value: s.is_final for s in CANONICAL_STATUSES},
        param_notes={op.name: {p.name: param_note(p) for p in op.params} for op in provider.operations},
        secret_credentials=[c.name for c in provider.auth.credentials if c.secret],
        required_credentials=required_credentials(provider),
        pem_credentials=[c.name for c in provider.auth.credentials if c.format == "pem_private_key"],
        base64_credentials=[c.name for c in provider.auth.credentials if c.format == "base64"],
        example=readme_example(provider) if provider.operations else "",
        parse_example=parse_example(provider) if provider.operations else "",
        retry_arguments=retry_arguments(provider.retry),
        callbacks_view=python_view.callbacks_view(
            provider.id, provider.package, provider.callbacks, provider.auth.credentials
        ),
        client=client_view(provider) if provider.operations else None,
    )


def _success_value(envelope: m.Envelope) -> str:
    """One value as itself (``0``), several as a tuple, none as ``None``."""
    values = envelope.success_values
    if not values:
        return "None"
    return python_literal(values[0]) if len(values) == 1 else python_tuple(values)


def runtime_requirement(provider: m.Provider) -> str:
    """The dlr-core a provider package needs: the runtime's major is its contract with
    generated code, and the minor it was generated against is the oldest with every
    feature the code uses. The RSA extra only for specs that sign with RSA; the crypto extra
    (the same dependency) for specs whose callbacks are verified with public keys."""
    major, minor = (int(part) for part in dlr_core.__version__.split(".")[:2])
    verifies_keys = any("public_key" in c.definition.get("verify", {}) for c in provider.callbacks)
    extras = "[crypto]" if verifies_keys else "[rsa]" if _signs_with_rsa(provider) else ""
    return f"dlr-core{extras}>={major}.{minor},<{major + 1}"


def _signs_with_rsa(provider: m.Provider) -> bool:
    return any(scheme.uses_rsa for scheme in provider.auth.schemes)
