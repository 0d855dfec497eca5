"""Hostile specs: spec text never becomes code, names never collide, and every broken spec
is a ``file:line`` problem, never a traceback.

The property test mutates a seed spec (strings, names, numbers, structure). Each case must
either fail validation with located problems, or generate a package that imports without
running anything and whose texts are the spec's (``generator.emit.verify`` checks that on every
generation; the test also imports the package). The default run tries 40 fixed cases;
the slow tier 600 more, random ones;
``DLRGEN_FUZZ_EXAMPLES=10000 pytest -m slow -n 0 tests/generator/test_hostile_specs.py`` is the long job.
"""

from __future__ import annotations

import copy
import importlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, SPECS, catalog_providers
from dlr_core.options import PER_CALL_OPTIONS
from generator.python import names
from generator.commands.cli import main
from generator.pipeline import load_providers, provider_files
from generator.emit.writer import apply

SEED = "itnio_voice"
CASES = ROOT / "tests" / "cases"
SEED_DATA: dict[str, Any] = yaml.safe_load((SPECS / f"{SEED}.yaml").read_text(encoding="utf-8"))


def _with_golden_schemes(seed: dict[str, Any]) -> dict[str, Any]:
    """The seed plus the golden cases' OAuth2 token flow and composite-header (WS-Security)
    schemes, so that mutations reach their keys too."""
    data = copy.deepcopy(seed)
    for case in ("sign_oauth2_client_credentials", "sign_wsse_username_token"):
        golden = yaml.safe_load((CASES / case / "specs" / "demo.yaml").read_text(encoding="utf-8"))["auth"]
        data["auth"]["credentials"].update(golden["credentials"])
        data["auth"]["schemes"].update(golden["schemes"])
    return data


FUZZ_SEED_DATA = _with_golden_schemes(SEED_DATA)


def _case(case: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CASES / case / "specs" / "demo.yaml").read_text(encoding="utf-8"))
    data["provider"] = SEED
    return data


def _retitled(node: Any, prefix: str) -> Any:
    """``node`` with every model title prefixed: merged cases' models keep apart."""
    if isinstance(node, dict):
        return {k: prefix + v if k == "title" else _retitled(v, prefix) for k, v in node.items()}
    if isinstance(node, list):
        return [_retitled(v, prefix) for v in node]
    return node


# The golden cases of the keys added since the seed was written, each merged into one spec
# (operations, schemes and callbacks under their case's name): mutations reach them too.
NEW_KEY_CASES = {
    "sign_base64_key_http_date": "the base64_decode filter, the http_date timestamp style",
    "response_time_several_formats": "a list of time formats",
    "response_top_level_array": "a top-level array answer",
    "params_body_array": "an in: body parameter",
    "params_provider_words": "parameters named like per-call options (timeout, retries)",
    "params_example_values": "constrained parameters without example",
    "callbacks_form_hmac": "a form push verified by sign steps",
    "callbacks_nonce_header": "verify.headers, several signatures in one header",
    "callbacks_several_forms": "several signature forms (compare.value a list)",
    "callbacks_public_key": "public keys, a signed time",
    "callbacks_json_array": "verify: {unsigned: ...}, a JSON array push",
}


def _with_new_keys() -> dict[str, Any]:
    data = _case("minimal")
    data["operations"], data["callbacks"] = {}, {}
    for index, case in enumerate(NEW_KEY_CASES):
        golden = _case(case)
        prefix = "".join(word.title() for word in case.split("_"))
        data["auth"]["credentials"].update(golden["auth"]["credentials"])
        for name, scheme in golden["auth"]["schemes"].items():
            data["auth"]["schemes"].setdefault(
                name if scheme == data["auth"]["schemes"].get(name) else case, scheme
            )
        for name, operation in golden.get("operations", {}).items():
            data["operations"][f"{name}_{index}"] = _retitled(operation, prefix)
        for name, callback in golden.get("callbacks", {}).items():
            data["callbacks"][f"{name}_{index}"] = _retitled(callback, prefix)
    return data


# Seeds the mutations start from: the provider spec with the golden OAuth2 and WS-Security
# schemes; the spec of the newer keys; a push-only provider (callbacks, no operations),
# with an unsigned callback too.
PUSH_ONLY_SEED = _case("callbacks_push_only")
PUSH_ONLY_SEED["callbacks"]["unsigned_push"] = _case("callbacks_json_array")["callbacks"]["report_push"]
FUZZ_SEEDS = [FUZZ_SEED_DATA, _with_new_keys(), PUSH_ONLY_SEED]

# Texts that broke out of their context before (docstring ends, escapes split by wrapping,
# comment-ending newlines) and texts that would run code if they ever did.
PAYLOADS = [
    'a title with """ triple quotes',
    'ends with a quote"',
    "back\\slash \\n \\x00 \\u2028 and \\",
    "x" * 300 + "\\" + "y" * 3,
    "\\" * 81,
    "'''); __import__('os').system('touch PWNED') #",
    '"""); __import__("os").system("touch PWNED") #',
    "}}{{ {% raw %} {# #} ${x}",
    "</summary> --> <!-- | pipes | `ticks`",
    "ünïcödé 中文 发送成功 \u00a0 emoji 📨",
]


def _sentinel_untouched(root: Path) -> None:
    assert not list(root.rglob("PWNED")), "spec text ran as code"


def _write_spec(root: Path, data: dict[str, Any] | str, name: str = SEED) -> Path:
    specs = root / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    path = specs / f"{name}.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _generate_and_import(root: Path, spec: Path) -> list[str]:
    """Problems as text when the spec is refused; otherwise generate, write, import. A
    crash is an internal error (``dlrgen`` exits 70): a failure, whatever the spec."""
    try:
        providers, problems = load_providers([spec])
    except Exception as exc:
        pytest.fail(f"internal error (dlrgen would exit 70) loading the spec: {type(exc).__name__}: {exc}")
    if problems:
        for problem in problems:
            assert problem.file.endswith(spec.name) and problem.line >= 1 and problem.column >= 1, problem
        return [str(p) for p in problems]
    [provider] = providers
    try:
        files = provider_files(provider)  # formats and verifies: raises if spec text escaped its context
    except Exception as exc:
        pytest.fail(f"internal error (dlrgen would exit 70) generating: {type(exc).__name__}: {exc}")
    out = root / "generated"
    apply(out, files)
    _import_fresh(out / provider.package, provider.package)
    _sentinel_untouched(root)
    outside = {p for p in root.rglob("*") if p.is_file()} - set(out.rglob("*")) - {spec}
    assert not outside, f"files written outside the output folder: {outside}"
    return []


def _import_fresh(distribution: Path, package: str) -> None:
    saved = {
        name: mod for name, mod in sys.modules.items() if name == package or name.startswith(package + ".")
    }
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(distribution))
    try:
        module = importlib.import_module(package)
        for submodule in sorted((distribution / package).glob("*.py")):  # a push-only one has no client
            importlib.import_module(f"{package}.{submodule.stem}")
        assert module.PROVIDER_ID
    finally:
        sys.path.remove(str(distribution))
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        sys.modules.update(saved)


# -- targeted cases -------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_in_every_text_field_stays_data(tmp_path: Path, payload: str) -> None:
    data = copy.deepcopy(SEED_DATA)
    data["title"] = payload
    data["description"] = payload + " " + payload
    operation = data["operations"]["query_recall_flow_detail"]
    operation["summary"] = payload
    operation["description"] = ("word " * 30) + payload
    for credential in data["auth"]["credentials"].values():
        credential["description"] = payload
    first_status = next(iter(data["statuses"].values()))
    first_status["description"] = payload
    first_status["values"][0]["description"] = payload
    assert _generate_and_import(tmp_path, _write_spec(tmp_path, data)) == []


def test_specs_folder_name_with_a_newline_stays_a_comment(tmp_path: Path) -> None:
    root = tmp_path / "x\n__import__('os').system('touch PWNED')\n"
    spec = _write_spec(root, copy.deepcopy(SEED_DATA))
    assert _generate_and_import(tmp_path, spec) == []


RESERVED_CASES = [
    # (where in the seed, the name, the scope's reason)
    ("status_class", "None", "Python keyword"),
    ("status_class", "True", "Python keyword"),
    ("status_class", "DeliveryStatus", "already imports or defines"),
    ("status_class", "Literal", "already imports or defines"),
    ("status_class", "Field", "already imports or defines"),
    ("status_class", "BaseModel", "already imports or defines"),
    ("status_class", "Client", "already imports or defines"),
    ("status_class", "Exception", "builtin"),
    ("operation", "close", "method or attribute of the generated client"),
    ("operation", "fetch_receipts", "method or attribute of the generated client"),
    ("operation", "wait_for_final", "method or attribute of the generated client"),
    ("operation", "iter_things", "prefixed like"),
    ("operation", "api", "already imports or defines"),  # its constant would be API
    ("operation", "import", "Python keyword"),
    ("credential", "timeout", "argument of the client constructor"),
    ("credential", "base_url", "argument of the client constructor"),
    ("credential", "http_client", "argument of the client constructor"),
    ("credential", "self", "argument of the client constructor"),
    ("credential", "class", "Python keyword"),
    ("parameter", "self", "receiver (self)"),
    ("parameter", "str", "builtin"),
    ("field", "int", "builtin"),
    ("field", "model_config", "attribute of pydantic models"),
    ("field", "json", "attribute of pydantic models"),
]


def _rename(data: dict[str, Any], where: str, name: str) -> str:
    """Put ``name`` where the case says; returns the text to find on the problem's line."""
    if where == "status_class":
        next(iter(data["statuses"].values()))["class"] = name
    elif where == "operation":
        data["operations"] = {name: data["operations"].pop("query_recall_flow_detail")}
    elif where == "credential":
        credentials = data["auth"]["credentials"]
        credentials[name] = credentials.pop("api_key")
        scheme = data["auth"]["schemes"]["md5_header"]
        text = yaml.safe_dump(scheme).replace("{api_key}", "{" + name + "}")
        data["auth"]["schemes"]["md5_header"] = yaml.safe_load(text)
    elif where == "parameter":
        params = data["operations"]["query_recall_flow_detail"]["params"]
        first = next(iter(params))
        params[name] = params.pop(first)
    elif where == "field":
        response = data["operations"]["query_recall_flow_detail"]["response"]
        first_wire = next(iter(response["properties"]))
        response["properties"][first_wire]["name"] = name
    return name


@pytest.mark.parametrize(("where", "name", "reason"), RESERVED_CASES)
def test_reserved_names_are_located_problems(
    tmp_path: Path, where: str, name: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy.deepcopy(SEED_DATA)
    _rename(data, where, name)
    spec = _write_spec(tmp_path, data)
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    lines = spec.read_text(encoding="utf-8").splitlines()
    located = [line for line in err.splitlines() if reason in line and f"{name!r}" in line]
    assert located, err
    file, line_number, column, _ = located[0].split(":", 3)
    assert file.endswith(spec.name) and int(column) >= 1
    assert name in lines[int(line_number) - 1], (lines[int(line_number) - 1], located[0])
    assert "Traceback" not in err


def test_the_reserved_table_covers_every_name_the_templates_define() -> None:
    """Every module-level name of a generated package is either claimed from the spec (and
    so checked) or in the table: nothing a spec could collide with goes unchecked."""
    import ast

    from tests.conftest import GENERATED

    providers, problems = list(catalog_providers()), []
    assert not problems
    for provider in providers:
        spec_names = set(_spec_module_names(provider))
        for path in sorted((GENERATED / provider.package / provider.package).glob("*.py")):
            for name in _module_level_names(ast.parse(path.read_text(encoding="utf-8"))):
                if name in spec_names or name.startswith("_"):
                    continue
                assert names.reserved("module", name) is not None, f"{path.name}: {name} is not in the table"


def _spec_module_names(provider: Any) -> Iterator[str]:
    yield from provider.models_schema["$defs"]
    for enum in provider.statuses:
        yield from (enum.class_name, enum.function_name, enum.field_type_name)
    yield from (time.name for time in provider.time_patterns)
    yield from (choice.name for choice in provider.time_choices)  # a time in several formats
    for rule in provider.rules:
        yield rule.function_name
    for operation in provider.operations:
        yield from (operation.name.upper(), f"{operation.name.upper()}_PAGING")
        if operation.receipts:
            yield operation.receipts.function_name
    for callback in provider.callbacks:
        name = callback.name
        yield from (name.upper(), f"{name}_receipts", f"parse_{name}", f"{name}_endpoint")


def _module_level_names(tree: Any) -> Iterator[str]:
    import ast

    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield from ((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, ast.Assign):
            yield from (target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield node.target.id


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("minimum: 1", "minimum: .inf", "finite"),
        ("minimum: 1", "minimum: .nan", "finite"),
    ],
)
def test_values_that_would_break_the_package_are_refused(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = (SPECS / "aliyun_dysms.yaml").read_text(encoding="utf-8")
    assert old in text
    spec = _write_spec(tmp_path, text.replace(old, new, 1), "aliyun_dysms")
    _, problems = load_providers([spec])
    assert any(message in p.message for p in problems), problems


# -- the property test ------------------------------------------------------------------

NAME_POOL = sorted(
    names.PYTHON_KEYWORDS
    | names.TEMPLATE_MODULE_NAMES
    | set(names.PACKAGE_EXPORTS)
    | names.CLIENT_ARGUMENTS
    | names.METHOD_NAMES
    | set(PER_CALL_OPTIONS)
    | names.GENERATED_METHODS
    | names.USED_BUILTINS
    | {"iter_x", "model_x", "None", "True", "API", "a", "Ab", "x_1"}
)
hostile_text = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=80))
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)


FREE_TEXT_KEYS = {"title", "description", "summary", "note"}


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, path + (index,))
    else:
        yield path, data


def _containers(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        yield path
        for key, value in data.items():
            yield from _containers(value, path + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _containers(value, path + (index,))


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


@st.composite
def mutated_specs(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(draw(st.sampled_from(FUZZ_SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        # Most mutations hit free text (the texts that must stay data); the rest hit any
        # text, names (mapping keys), numbers and the structure.
        kind = draw(st.sampled_from(["free_text"] * 4 + ["text", "name", "name", "number", "structure"]))
        if kind in ("free_text", "text", "number"):
            leaves = [
                p
                for p, v in _leaves(data)
                if (
                    isinstance(v, str) and (kind == "text" or p[-1] in FREE_TEXT_KEYS)
                    if kind != "number"
                    else isinstance(v, (int, float)) and not isinstance(v, bool)
                )
            ]
            if not leaves:
                continue
            path = draw(st.sampled_from(leaves))
            _get(data, path[:-1])[path[-1]] = draw(numbers if kind == "number" else hostile_text)
        elif kind == "name":
            mappings = [p for p in _containers(data) if isinstance(_get(data, p), dict) and _get(data, p)]
            path = draw(st.sampled_from(mappings))
            mapping = _get(data, path)
            old = draw(st.sampled_from(sorted(mapping)))
            new = draw(st.one_of(st.sampled_from(NAME_POOL), st.text(max_size=20)))
            if new not in mapping:
                mapping[new] = mapping.pop(old)
        else:
            containers = [p for p in _containers(data) if p]
            path = draw(st.sampled_from(containers))
            parent = _get(data, path[:-1])
            replacement = draw(st.sampled_from([None, [], {}, "x", 0, [[[]]]]))
            if isinstance(parent, dict) and draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = replacement
    return data


# The fast tier runs a fixed 40 cases; the slow tier 600 more, random ones; the long job sets
# DLRGEN_FUZZ_EXAMPLES=10000.
FAST_FUZZ_EXAMPLES = 25  # the fast tier's sample; the slow tier runs FUZZ_EXAMPLES more
FUZZ_EXAMPLES = int(os.environ.get("DLRGEN_FUZZ_EXAMPLES", "250"))  # CI stays within 15 minutes
MYPY_EVERY = int(os.environ.get("DLRGEN_FUZZ_MYPY_EVERY", "50"))


def _check_mutation(data: dict[str, Any], *, type_check: bool = False) -> bool:
    """True when the mutated spec generated a package (which then imported, and passed
    ``mypy --strict`` when asked)."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        spec = _write_spec(root, data)
        # The command line's answer too: 0 or 2 (located problems), never 70.
        assert main(["validate", str(spec)]) in (0, 2), "internal error: dlrgen validate exited 70"
        generated = not _generate_and_import(root, spec)
        if generated and type_check:
            _assert_mypy_strict(root / "generated" / f"dlr_{SEED}")
        return generated


def _assert_mypy_strict(distribution: Path) -> None:
    import subprocess

    from tests.conftest import ROOT, RUNTIME

    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(RUNTIME), str(distribution)])}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(distribution / distribution.name)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@settings(
    max_examples=FAST_FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_specs())
def test_mutated_specs_are_refused_with_locations_or_generate_inert_packages(data: dict[str, Any]) -> None:
    _check_mutation(data)


@pytest.mark.slow
def test_long_fuzz_run() -> None:
    generated = [0]

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated_specs())
    def run(data: dict[str, Any]) -> None:
        # Every generated package imports; one in MYPY_EVERY also goes through mypy --strict.
        if _check_mutation(data, type_check=generated[0] % MYPY_EVERY == 0):
            generated[0] += 1

    run()


@pytest.mark.slow
def test_a_package_generated_from_hostile_text_passes_mypy_strict(tmp_path: Path) -> None:
    data = copy.deepcopy(SEED_DATA)
    data["title"] = PAYLOADS[0]
    data["description"] = " ".join(PAYLOADS)
    operation = data["operations"]["query_recall_flow_detail"]
    operation["summary"] = PAYLOADS[1]
    operation["description"] = PAYLOADS[3] + " " + PAYLOADS[4]
    next(iter(data["statuses"].values()))["values"][0]["description"] = PAYLOADS[5]
    assert _generate_and_import(tmp_path, _write_spec(tmp_path, data)) == []
    _assert_mypy_strict(tmp_path / "generated" / f"dlr_{SEED}")


@pytest.mark.parametrize("seed", range(len(FUZZ_SEEDS)), ids=["golden_schemes", "new_keys", "push_only"])
def test_the_fuzz_seeds_generate(tmp_path: Path, seed: int) -> None:
    """The mutations start from valid specs, so what they break is what they changed."""
    assert _generate_and_import(tmp_path, _write_spec(tmp_path, copy.deepcopy(FUZZ_SEEDS[seed]))) == []


def test_the_new_keys_seed_holds_every_new_key() -> None:
    """Each key the cases are about is in the seed, under its case's operation or callback."""
    text = yaml.safe_dump(FUZZ_SEEDS[1])
    for needle in (
        "base64_decode",
        "timestamp: http_date",
        "- iso8601\n",  # a list of time formats
        "type: array\n",
        "in: body",
        "timeout:",
        "retries:",
        "pattern: ^[A-Z]{2}[0-9]+$",
        "headers:\n        nonce: X-Demo-Nonce",
        "separator: ','",
        "- '{raw_body_signature}'",
        "public_key:",
        "unsigned: The provider signs nothing",
    ):
        assert needle in text, needle
    assert "operations" not in PUSH_ONLY_SEED and len(PUSH_ONLY_SEED["callbacks"]) == 2


def test_a_spec_without_receipts_generates_a_package_that_imports(tmp_path: Path) -> None:
    """Found by the mutation test: no operation with receipts left an empty import list."""
    data = copy.deepcopy(SEED_DATA)
    del data["operations"]["query_recall_flow_detail"]["receipts"]
    assert _generate_and_import(tmp_path, _write_spec(tmp_path, data)) == []
