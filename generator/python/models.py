"""Stage 3, models: request and response models come from datamodel-code-generator.

The parser has already turned the spec's schemas into plain JSON Schema (one ``$defs``
entry per class, titles as class names) and scoped aliases (``Class.wire -> name``), so
the library gets exactly what it documents and we only post-process its header.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import warnings
from typing import Any

from generator import model as m
from generator.emit import cache
from generator.python.escape import docstring


def render_models(provider: m.Provider, header: str) -> str:
    """The models module. The library's answer depends only on the schema and the options, so
    it is kept in the cache under their hash: a spec edit that leaves the models alone does not
    even import the library (the heaviest import of a run)."""
    schema = _with_field_types(provider)
    options = _options(provider, header)
    key = hashlib.sha256(
        json.dumps([_library_version(), schema, options], sort_keys=True, default=str).encode()
    ).hexdigest()
    code = cache.get("models", key)
    if code is None:
        code = _generate(schema, options)
        cache.put("models", key, code)
    return code


@functools.cache
def _library_version() -> str:
    from generator.versions import distribution_version as version

    return f"datamodel-code-generator {version('datamodel-code-generator')} isort {version('isort')}"


def _options(provider: m.Provider, header: str) -> dict[str, Any]:
    """The library's options, with its enums by name (so they hash without importing it)."""
    return dict(
        input_file_type="JsonSchema",
        output_model_type="PydanticV2BaseModel",
        target_python_version="PY_310",
        disable_timestamp=True,
        custom_file_header=f'{header}\n"""{docstring(provider.title)}: request parameters and response models."""',
        use_title_as_name=True,
        skip_root_model=True,
        aliases=provider.model_aliases,
        use_annotated=True,
        use_standard_collections=True,
        use_union_operator=True,
        field_constraints=True,
        use_field_description=True,
        use_schema_description=True,
        use_single_line_docstring=True,
        use_double_quotes=True,  # as black writes them: less for it to change
        enum_field_as_literal="all",
        # The base keeps fields the spec does not describe and the mapping a model was read
        # from (receipts report values as sent), and lets models be built by Python name.
        base_class="dlr_core.models.ProviderModel",
        formatters=["ISORT"],
    )


def _generate(schema: dict[str, Any], named_options: dict[str, Any]) -> str:
    # Imported here: the library is heavy, and commands that render nothing never need it.
    import datamodel_code_generator as dcg
    from datamodel_code_generator.enums import DataModelType, InputFileType
    from datamodel_code_generator.format import Formatter

    options = {
        **named_options,
        "input_file_type": InputFileType[named_options["input_file_type"]],
        "output_model_type": DataModelType[named_options["output_model_type"]],
        "target_python_version": dcg.PythonVersion[named_options["target_python_version"]],
        "formatters": [getattr(Formatter, name) for name in named_options["formatters"]],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notices about defaults we set explicitly
        code = dcg.generate(schema, **options)
    if not isinstance(code, str):
        raise RuntimeError(f"datamodel-code-generator returned {type(code).__name__}, expected one module")
    # The library cannot know our field types are pydantic-aware (they are Annotated
    # validators), so it allows arbitrary types; they need no such thing.
    code = code.replace(_ARBITRARY_TYPES_CONFIG, "")
    if code.count("ConfigDict") == 1:  # only its import is left
        code = re.sub(
            r"^from pydantic import ConfigDict\n|\bConfigDict, |, ConfigDict\b", "", code, count=1, flags=re.M
        )
    return code


_ARBITRARY_TYPES_CONFIG = "    model_config = ConfigDict(\n        arbitrary_types_allowed=True,\n    )\n"
# Times in a standard format read through the runtime's field types.
RUNTIME_TIME_TYPES = {
    "iso8601": "Iso8601Time",
    "rfc2822": "Rfc2822Time",
    "unix_seconds": "UnixSecondsTime",
    "unix_milliseconds": "UnixMillisecondsTime",
}


def field_type_path(provider: m.Provider, marks: dict[str, Any]) -> str | None:
    """The importable type of a field the parser marked as a status or a time."""
    if m.STATUS_KEY in marks:
        enum = next(e for e in provider.statuses if e.key == marks[m.STATUS_KEY])
        return f"{provider.package}.fields.{enum.field_type_name}"
    if m.TIME_KEY in marks:
        time = marks[m.TIME_KEY]
        if time in RUNTIME_TIME_TYPES:
            return f"dlr_core.models.{RUNTIME_TIME_TYPES[time]}"
        return f"{provider.package}.fields.{time}"
    return None


def _with_field_types(provider: m.Provider) -> dict[str, Any]:
    """The models' JSON Schema with the parser's meaning marks turned into the library's
    ``customTypePath``: status fields typed as their enums, times as aware datetimes."""
    schema = copy.deepcopy(provider.models_schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            path = field_type_path(provider, node)
            node.pop(m.STATUS_KEY, None)
            node.pop(m.TIME_KEY, None)
            if path is not None:
                node["customTypePath"] = path
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    visit(schema)
    return schema
