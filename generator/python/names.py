"""The one table of names a spec may not introduce.

A spec names classes, functions, constants, methods, keyword arguments and model fields of
the generated code. Each of those names lands in a scope that Python and the generated code
already use: keywords, builtins, everything a generated module imports or defines, the
methods and constructor arguments of the clients, the locals of generated methods. A name
taken from a spec is checked here against its scope before anything is rendered, so a
collision is a ``file:line`` problem instead of a package that fails on import (or, worse,
quietly calls the wrong thing).

What the runtime defines is read from the runtime itself (``dlr_core``), never copied.
``tests/test_names.py`` proves the table covers every name the templates put in a
generated module.
"""

from __future__ import annotations

import builtins
import json
import keyword
import re
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Literal

from generator.emit import cache as generation_cache

Scope = Literal["module", "client_method", "argument", "credential", "field", "member"]

PYTHON_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("__"))
# Builtins the generated code names in annotations and calls: a field, argument or local of
# that name would shadow them where they are used.
USED_BUILTINS = frozenset(
    {
        "bool",
        "bytes",
        "dict",
        "float",
        "frozenset",
        "int",
        "isinstance",
        "len",
        "list",
        "object",
        "range",
        "set",
        "str",
        "super",
        "tuple",
        "type",
        "date",
        "datetime",
        "time",
    }
)

# Names the templates and datamodel-code-generator import or define at module level in a
# generated package (besides the names derived from the spec, which are claimed one by one).
TEMPLATE_MODULE_NAMES = frozenset(
    {
        # typing, collections, datetime, enum, pydantic (templates and datamodel-code-generator)
        "annotations",
        "Annotated",
        "Any",
        "AsyncIterator",
        "Awaitable",
        "Callable",
        "ClassVar",
        "Final",
        "Iterator",
        "Literal",
        "Mapping",
        "Optional",
        "Sequence",
        "Union",
        "Enum",
        "IntEnum",
        "date",
        "datetime",
        "time",
        "timedelta",
        "timezone",
        "Decimal",
        "UUID",
        "BaseModel",
        "ConfigDict",
        "Field",
        "RootModel",
        "AwareDatetime",
        "BeforeValidator",
        "AnyUrl",
        "conint",
        "confloat",
        "constr",
        "field_validator",
        "model_validator",
        "httpx",
        # type aliases and classes of the generated clients
        "AuthScheme",
        "Server",
        "dataclass",
        "field",
        # dlr_core modules api.py names the auth schemes' classes by
        "signing",
        "steps",
        # callbacks.py: the runtime module, and the first callback's aliases
        "callbacks",
        "parse_callback",
        "callback_endpoint",
    }
)
# What every provider package exports besides the names its spec introduces.
PACKAGE_EXPORTS = (
    "API",
    "AsyncClient",
    "Client",
    "Credentials",
    "DEFAULT_SERVER",
    "DOCS_URL",
    "ERRORS",
    "POLLING",
    "PROVIDER_ID",
    "SERVERS",
    "TITLE",
)

# Keyword arguments of every client constructor besides the credentials.
CLIENT_ARGUMENTS = frozenset(
    {
        "self",
        "api",
        "credentials",
        "server",
        "base_url",
        "auth_scheme",
        "timeout",
        "max_response_bytes",
        "retries",
        "http_client",
        "clock",
        "nonce",
        "sleep",
        "monotonic",
        "defaults",
        "signer",
        "token_url",
        # the async client's own
        "max_concurrency",
        "transport",
        # Client.__init__'s and the Credentials class's own names
        "given",
        "cls",
        "environ",
        "options",
        "from_env",
        # the arguments and locals of a callback's parser and endpoint (credentials verify pushes)
        "method",
        "url",
        "headers",
        "body",
        "max_bytes",
        "parse_push",
    }
)

# The receiver of generated client methods. Their per-call options (``retries``,
# ``extra_params``, ``timeout``, ...) give way to a parameter of the same name (spelled
# ``timeout_`` in that method: dlr_core.options), and their locals all start with an
# underscore (``_params``, ``_result``, ``_receipts``), which no spec name can (snake_case
# names start with a letter): a provider's ``status``, ``page``, ``timeout`` is its own.
METHOD_NAMES = frozenset({"self"})

# Methods the generated clients define (the runtime's bases add theirs, read below).
GENERATED_METHODS = frozenset({"fetch_receipts", "wait_for_final"})
# Operations also get ``iter_<name>`` when paginated.
RESERVED_METHOD_PREFIXES = ("iter_",)

# Attributes of pydantic models that a field must not shadow.
PYDANTIC_ATTRIBUTES = frozenset(
    {
        "copy",
        "dict",
        "json",
        "schema",
        "schema_json",
        "construct",
        "validate",
        "parse_obj",
        "parse_raw",
        "parse_file",
        "from_orm",
        "update_forward_refs",
        "fields",
        "register",
    }
)

# Attributes of the generated status enums.
ENUM_ATTRIBUTES = frozenset({"parse", "canonical", "name", "value"} | set(dir(Enum)))


def runtime_module_names() -> frozenset[str]:
    """Every public name the runtime's modules define: generated modules import from them."""
    return _runtime_names()["module"]


def model_attributes() -> frozenset[str]:
    """What the generated models' base adds to pydantic's (``wire_data``)."""
    return _runtime_names()["model"]


def client_attributes() -> frozenset[str]:
    """Every attribute of the runtime's client bases: an operation must not replace one."""
    return _runtime_names()["client"] | GENERATED_METHODS


@cache
def _runtime_names() -> dict[str, frozenset[str]]:
    """The runtime's names, read by importing it (httpx and pydantic with it), and kept in
    the generation cache under the hash of the runtime's source, of Python's version and of
    pydantic's: a run whose runtime did not change imports none of it."""
    key = _runtime_key()
    cached = generation_cache.get("runtime-names", key)
    if cached is not None:
        return {kind: frozenset(names) for kind, names in json.loads(cached).items()}
    import dlr_core
    from dlr_core import client, models, values

    module: set[str] = set(dlr_core.__all__)
    for runtime_module in (client, models, values):
        module.update(name for name in vars(runtime_module) if not name.startswith("_"))
    found = {
        "module": frozenset(module),
        "model": frozenset(name for name in dir(models.ProviderModel) if not name.startswith("_")),
        "client": frozenset(dir(client.SyncClientBase)) | frozenset(dir(client.AsyncClientBase)),
    }
    generation_cache.put(
        "runtime-names", key, json.dumps({kind: sorted(names) for kind, names in found.items()})
    )
    return found


def _runtime_key() -> str:
    """The runtime's source, Python's version and pydantic's (``dir`` of a model depends on
    them), as one hash."""
    import importlib.util
    import sys

    from generator.emit.manifest import hash_tree
    from generator.versions import distribution_version as version

    spec = importlib.util.find_spec("dlr_core")
    folders = list(spec.submodule_search_locations or []) if spec else []
    extra = f"{sys.version_info[:2]} pydantic {version('pydantic')}".encode()
    return hash_tree(Path(folders[0]), ("*.py",), extra=extra) if folders else extra.hex()


def reserved(scope: Scope, name: str) -> str | None:
    """Why ``name`` may not be introduced in ``scope``, or None when it is free."""
    if name in PYTHON_KEYWORDS:
        return "a Python keyword"
    if scope == "module":
        if name in BUILTINS:
            return "a Python builtin"
        if name in TEMPLATE_MODULE_NAMES or name in PACKAGE_EXPORTS or name in runtime_module_names():
            return "a name the generated package already imports or defines"
    elif scope == "client_method":
        if name in client_attributes():
            return "a method or attribute of the generated client"
        if name.startswith(RESERVED_METHOD_PREFIXES):
            return "prefixed like the generated client's own methods (iter_...)"
    elif scope in ("argument", "credential"):
        if name in CLIENT_ARGUMENTS and scope == "credential":
            return "an argument of the client constructor"
        if name in METHOD_NAMES and scope == "argument":
            return "the generated methods' receiver (self)"
        if name in USED_BUILTINS:
            return "a builtin the generated code uses"
    elif scope == "field":
        if name.startswith("model_") or name in PYDANTIC_ATTRIBUTES:
            return "an attribute of pydantic models"
        if name in model_attributes():
            return "an attribute of the generated models"
        if name in USED_BUILTINS:
            return "a builtin the generated models use (a field of that name shadows it)"
    elif scope == "member":
        if name in ENUM_ATTRIBUTES:
            return "an attribute of the generated status enums"
    return None


def snake_from_class(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
