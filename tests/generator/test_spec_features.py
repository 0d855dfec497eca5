"""The spec format's general parts, each on a small variation of a seed spec, generated
into a temporary folder and imported (no test lists the providers)."""

from __future__ import annotations

import functools
import importlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import SPECS
from generator.pipeline import load_providers, provider_files
from generator.emit.writer import apply


def generate_package(tmp_path: Path, name: str, text: str) -> ModuleType:
    """Write ``text`` as specs/<name>.yaml, generate it, import its package."""
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    spec = specs / f"{name}.yaml"
    spec.write_text(text, encoding="utf-8")
    package, files = _generated(spec.name, text)
    out = tmp_path / "generated"
    apply(out, files)
    for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[module]
    sys.path.insert(0, str(out / package))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(out / package))


@functools.cache
def _generated(file_name: str, text: str) -> tuple[str, dict[str, str]]:
    """A spec's package name and files, generated once per test process for each text (many
    tests generate the same example spec: its output depends on nothing else)."""
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "specs" / file_name  # the output names specs/<file>
        spec.parent.mkdir()
        spec.write_text(text, encoding="utf-8")
        [provider], problems = load_providers([spec])
        assert not problems, problems
        return provider.package, provider_files(provider)


@pytest.fixture
def cleanup_modules() -> Iterator[None]:
    """Packages generated here are imported under the names of the committed ones: put the
    committed ones (and the import path) back afterwards, for the tests that follow."""

    def generated(name: str) -> bool:
        return name.startswith("dlr_") and name != "dlr_core" and not name.startswith("dlr_core.")

    before = {name: module for name, module in sys.modules.items() if generated(name)}
    path = list(sys.path)
    yield
    for name in [name for name in sys.modules if generated(name)]:
        del sys.modules[name]
    sys.modules.update(before)
    sys.path[:] = path


def test_status_values_documented_as_text_also_parse_when_sent_as_numbers(
    tmp_path: Path, cleanup_modules: None
) -> None:
    text = (SPECS / "itnio_voice.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    class: FlowStatus\n    type: integer\n", "    class: FlowStatus\n    type: string\n"
    )
    for number in range(5):
        text = text.replace(f"{{value: {number}, member:", f'{{value: "{number}", member:')
    package = generate_package(tmp_path, "itnio_voice", text)
    answer = {"code": 0, "msg": "success", "data": {"keyId": 1, "status": 2, "nodeList": []}}
    result = package.RecallFlowDetail.model_validate(answer["data"])
    [receipt] = package.query_recall_flow_detail_receipts(
        result, package.QueryRecallFlowDetailParams(key_id=1)
    )
    assert receipt.status.value == "delivered"
    assert package.FlowStatus.parse(2) is package.FlowStatus.COMPLETED


ITNIO_CREDENTIALS = {"api_key": "itnio-key", "api_secret": "itnio-secret"}
KEY_ID_PARAM = "      key_id:\n"


def _itnio(extra_params: str = "", **replacements: str) -> str:
    text = (SPECS / "itnio_voice.yaml").read_text(encoding="utf-8")
    assert KEY_ID_PARAM in text
    text = text.replace(KEY_ID_PARAM, extra_params + KEY_ID_PARAM, 1)
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


TIME_PARAMS = """\
      since:
        wire: startTime
        in: json
        type: datetime
        format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"
      until:
        wire: endTime
        in: json
        type: datetime
        format: yyyy-MM-dd HH:mm:ss
        timezone: "+08:00"
"""


def test_a_date_time_with_an_offset_reaches_the_wire_exactly(tmp_path: Path, cleanup_modules: None) -> None:
    from datetime import datetime, timedelta, timezone

    from dlr_core import ParameterError
    from dlr_core.mock import MockProvider

    package = generate_package(tmp_path, "itnio_voice", _itnio(TIME_PARAMS))
    ist = timezone(timedelta(hours=5, minutes=30))
    with MockProvider(package.API, ITNIO_CREDENTIALS) as mock:
        with package.Client(**ITNIO_CREDENTIALS, base_url=mock.base_url) as client:
            client.query_recall_flow_detail(
                key_id=1,
                since=datetime(2024, 5, 1, 13, 45, 0, 123000, tzinfo=ist),
                until=datetime(2024, 5, 1, 13, 45, tzinfo=timezone.utc),
            )
            client.query_recall_flow_detail(
                key_id=1, since="2024-05-01T13:45:00.000Z", until="2024-05-02 08:00:00"
            )
            with pytest.raises(ParameterError, match="naive datetime"):
                client.query_recall_flow_detail(key_id=1, since=datetime(2024, 5, 1, 13, 45))
            with pytest.raises(ParameterError, match="not a date-time in the format"):
                client.query_recall_flow_detail(key_id=1, until="next tuesday")
    first, second = (request.json for request in mock.requests)
    assert first["startTime"] == "2024-05-01T13:45:00.123+05:30"  # as given, offset kept
    assert first["endTime"] == "2024-05-01 21:45:00"  # converted to the provider's +08:00
    assert second["startTime"] == "2024-05-01T13:45:00.000Z"
    assert second["endTime"] == "2024-05-02 08:00:00"  # text in the wire pattern: already provider time


def test_a_date_parameter_whose_format_has_a_time_is_refused(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = specs / "itnio_voice.yaml"
    spec.write_text(
        _itnio(
            TIME_PARAMS.replace(
                "type: datetime\n        format: yyyy-MM-dd HH",
                "type: date\n" "        format: yyyy-MM-dd HH",
            )
        ),
        encoding="utf-8",
    )
    _, problems = load_providers([spec])
    assert any(
        "has a time of day: make the parameter type: datetime" in p.message for p in problems
    ), problems


def test_success_by_one_of_several_values_and_static_headers(tmp_path: Path, cleanup_modules: None) -> None:
    import dlr_core
    from dlr_core.mock import MockProvider

    text = _itnio(
        **{
            "  success: {field: [code, status], equals: 0}": "  success: {field: [code, status], equals: [0, 7]}",
            "envelope:\n": "headers: {Accept: application/json, X-Client: dlrgen}\n\nenvelope:\n",
        }
    )
    package = generate_package(tmp_path, "itnio_voice", text)
    data = {"keyId": 1, "status": 2, "nodeList": []}
    scenario = {
        "query_recall_flow_detail": [
            {"body": {"code": 7, "msg": "partial", "data": data}},
            {"body": {"code": 5, "msg": "nope", "data": data}},
        ]
    }
    with MockProvider(package.API, ITNIO_CREDENTIALS, scenario=scenario) as mock:
        with package.Client(**ITNIO_CREDENTIALS, base_url=mock.base_url, retries=0) as client:
            assert client.query_recall_flow_detail(key_id=1).status == 2  # 7 also means success
            with pytest.raises(dlr_core.ProviderError):
                client.query_recall_flow_detail(key_id=1)
    request = mock.requests[0]
    assert request.authenticated
    assert request.headers["accept"] == "application/json" and request.headers["x-client"] == "dlrgen"


def test_an_unanswered_id_is_an_open_receipt_in_input_order() -> None:
    """UCloud leaves out of Data the sessions it has no receipt for yet."""
    import dlr_ucloud_usms
    from dlr_core import DeliveryStatus
    from dlr_core.mock import MockProvider

    credentials = {"public_key": "ucloud-public", "private_key": "ucloud-private-value"}
    answer = {
        "Action": "GetUSMSSendReceiptResponse",
        "RetCode": 0,
        "Data": [
            {
                "SessionNo": "answered",
                "ReceiptSet": [
                    {
                        "Phone": "138",
                        "ReceiptResult": "发送成功",
                        "ReceiptCode": "0",
                        "ReceiptDesc": "ok",
                        "CostCount": 1,
                        "ReceiptTime": 1,
                        "UserId": "",
                    }
                ],
            }
        ],
    }
    scenario = {"get_usms_send_receipt": [{"body": answer}]}
    with MockProvider(dlr_ucloud_usms.API, credentials, scenario=scenario) as mock:
        with dlr_ucloud_usms.Client(**credentials, base_url=mock.base_url) as client:
            receipts = client.fetch_receipts(session_nos=["queued-1", "answered", "queued-2"])
            waited = client.wait_for_final(session_nos=["queued-1", "answered"], timeout=0, interval=0)
    assert [r.message_id for r in receipts] == ["queued-1", "answered", "queued-2"]
    assert [r.status for r in receipts] == [
        DeliveryStatus.UNKNOWN,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNKNOWN,
    ]
    assert receipts[0].details == {"answered": False} and receipts[1].recipient == "138"
    assert not waited.complete and [r.message_id for r in waited.open] == ["queued-1"]


def test_alternative_parameter_groups_one_whole_group_per_call(tmp_path: Path, cleanup_modules: None) -> None:
    from datetime import datetime, timezone

    from dlr_core import ParameterError
    from dlr_core.mock import MockProvider

    extra = TIME_PARAMS + "      batch:\n        wire: batchId\n        in: json\n        type: string\n"
    text = _itnio(
        extra,
        **{
            "    method: POST\n": "    method: POST\n    alternatives: {by_batch: [batch], "
            "by_window: [since, until]}\n"
        },
    )
    package = generate_package(tmp_path, "itnio_voice", text)
    start, end = datetime(2024, 5, 1, tzinfo=timezone.utc), datetime(2024, 5, 2, tzinfo=timezone.utc)
    with MockProvider(package.API, ITNIO_CREDENTIALS) as mock:
        with package.Client(**ITNIO_CREDENTIALS, base_url=mock.base_url) as client:
            client.query_recall_flow_detail(key_id=1, batch="b-1")
            client.query_recall_flow_detail(key_id=1, since=start, until=end)
            with pytest.raises(ParameterError, match="give only one of: by_batch"):
                client.query_recall_flow_detail(key_id=1, batch="b-1", since=start, until=end)
            with pytest.raises(ParameterError, match="give one of: by_batch"):
                client.query_recall_flow_detail(key_id=1)
            with pytest.raises(ParameterError, match="by_window needs since, until together") as caught:
                client.query_recall_flow_detail(key_id=1, since=start)
            assert caught.value.parameter == "until"
    assert [sorted(request.json) for request in mock.requests] == [
        ["batchId", "keyId"],
        ["endTime", "keyId", "startTime"],
    ]


def test_mypy_catches_a_misspelt_enum_argument(tmp_path: Path, cleanup_modules: None) -> None:
    import os
    import subprocess

    from tests.conftest import ROOT, RUNTIME

    extra = "      channel:\n        wire: channel\n        in: json\n        type: string\n        enum: [sms, voice]\n"
    generate_package(tmp_path, "itnio_voice", _itnio(extra))
    script = tmp_path / "user.py"
    script.write_text(
        "from dlr_itnio_voice import Client\n\n"
        "with Client(api_key='k', api_secret='s') as client:\n"
        "    client.query_recall_flow_detail(key_id=1, channel='voice')\n"
        "    client.query_recall_flow_detail(key_id=1, channel='voise')\n",
        encoding="utf-8",
    )
    distribution = tmp_path / "generated" / "dlr_itnio_voice"
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(RUNTIME), str(distribution)])}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "user.py:5:" in errors[0] and "voise" in errors[0], result.stdout
