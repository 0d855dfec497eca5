"""Stage 3, models: request and response models come from datamodel-code-generator.

The parser has already turned the spec's schemas into plain JSON Schema (one ``$defs``
entry per class, titles as class names) and scoped aliases (``Class.wire -> name``), so
the library gets exactly what it documents and we only post-process its header.
"""

from __future__ import annotations

import warnings
from typing import Any

from generator import model as m
from generator.escape import docstring


def render_models(provider: m.Provider, header: str) -> str:
    # Imported here: the library is heavy, and commands that render nothing never need it.
    import datamodel_code_generator as dcg
    from datamodel_code_generator.enums import DataModelType, InputFileType
    from datamodel_code_generator.format import Formatter

    options: dict[str, Any] = dict(
        input_file_type=InputFileType.JsonSchema,
        output_model_type=DataModelType.PydanticV2BaseModel,
        target_python_version=dcg.PythonVersion.PY_310,
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
        enum_field_as_literal="all",
        # Keep fields the spec does not describe: receipts expose the record as sent.
        extra_fields="allow",
        allow_population_by_field_name=True,
        formatters=[Formatter.ISORT],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notices about defaults we set explicitly
        code = dcg.generate(provider.models_schema, **options)
    if not isinstance(code, str):
        raise RuntimeError(f"datamodel-code-generator returned {type(code).__name__}, expected one module")
    return code
