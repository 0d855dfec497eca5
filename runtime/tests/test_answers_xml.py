"""Operations answering XML (``format: xml``): the answer read as a push's XML is (the root
element's children are the body's fields, a repeated element a list, even when it comes
once, where the schema says so), through the same envelope and error table as JSON, served
by the mock as XML, and anything beyond a plain document (a document type, too deep, too
many elements, too large) refused with the typed error that keeps the raw body."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from apis_in_code import GET_REPORT, GET_REPORTS, CREDENTIALS, api, client_class, run_client
from http_doubles import Transport, answer
from dlr_core import DeliveryStatus, NotFound, ProviderResponseError
from dlr_core.errors import ResponseTooLarge
from dlr_core.testing import MockTransport
from dlr_core.wire import xml_body
from dlr_core.wire.read import MAX_JSON_DEPTH, MAX_XML_ELEMENTS

MODES = ["sync", "async"]

# The envelope of apis_in_code (code 0 is success; code, message, requestId; data), written
# as XML: <response><code>0</code>...<data><reports>...</reports></data></response>.
GET_REPORTS_XML = dataclasses.replace(
    GET_REPORTS,
    format="xml",
    xml_root="response",
    xml_lists=(("reports",),),
    example={"code": 0, "message": "ok", "data": {"reports": [{"msgId": "m-1", "status": "DELIVRD"}]}},
)
GET_REPORT_XML = dataclasses.replace(GET_REPORT, format="xml", xml_root="response")
API_XML = api(GET_REPORT_XML, GET_REPORTS_XML)


def fetch(mode: str, http: Any, ids: list[str]) -> Any:
    client = client_class(mode, API_XML)(**CREDENTIALS, http_client=http, retries=0)
    return run_client(mode, client, lambda c: c.fetch_receipts(message_ids=ids))


def raw(status: int, content: bytes) -> Transport:
    return Transport(lambda request: answer(status, content, {"Content-Type": "application/xml"}))


@pytest.mark.parametrize("mode", MODES)
def test_the_mock_serves_the_example_as_xml_and_one_report_reads_as_a_list(mode: str) -> None:
    mock = MockTransport(API_XML, CREDENTIALS)
    http = mock.async_http_client() if mode == "async" else mock.http_client()
    [receipt] = fetch(mode, http, ["m-1"])
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.message_id == "m-1"
    assert mock.requests[0].authenticated and mock.requests[0].status == 200


def test_what_the_mock_answers_is_xml_under_the_answers_root() -> None:
    mock = MockTransport(API_XML, CREDENTIALS)
    with client_class("sync", API_XML)(**CREDENTIALS, http_client=mock.http_client()) as client:
        request = client.prepare("get_reports", message_ids=["m-1"])
        response = mock.handle_request(request)
    response.read()
    assert response.headers["Content-Type"].startswith("application/xml")
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<response><code>0</code>")
    assert b"<reports><msgId>m-1</msgId><status>DELIVRD</status></reports>" in response.content


@pytest.mark.parametrize("mode", MODES)
def test_repeated_elements_are_a_list(mode: str) -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><response xmlns="urn:example"><code>0</code><data>'
        b"<reports><msgId>m-1</msgId><status>DELIVRD</status></reports>"
        b"<reports><msgId>m-2</msgId><status>UNDELIV</status></reports></data></response>"
    )
    receipts = fetch(mode, raw(200, body).http(mode), ["m-1", "m-2"])
    assert [(r.message_id, r.status) for r in receipts] == [
        ("m-1", DeliveryStatus.DELIVERED),
        ("m-2", DeliveryStatus.UNDELIVERED),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_an_xml_error_maps_through_the_error_table_and_keeps_the_body(mode: str) -> None:
    body = b"<response><code>404</code><message>no such id</message><requestId>r-9</requestId></response>"
    with pytest.raises(NotFound) as caught:
        fetch(mode, raw(200, body).http(mode), ["m-1"])
    error = caught.value
    assert (error.code, error.request_id, error.message) == ("404", "r-9", "no such id")
    assert error.raw_body == body


@pytest.mark.parametrize("mode", MODES)
def test_the_mock_answers_a_scenario_error_in_xml(mode: str) -> None:
    mock = MockTransport(API_XML, CREDENTIALS, scenario={"get_reports": [{"error": "404"}]})
    http = mock.async_http_client() if mode == "async" else mock.http_client()
    with pytest.raises(NotFound) as caught:
        fetch(mode, http, ["m-1"])
    assert caught.value.raw_body is not None and caught.value.raw_body.startswith(b"<?xml")
    assert b"<error><code>404</code>" in caught.value.raw_body


def test_an_error_path_through_a_list_reads_an_element_given_once() -> None:
    """``errors.0.code`` (the first of a list of errors) addresses the one ``<errors>``
    element an XML answer gives, as it would the first item of a JSON list."""
    spec = api(
        GET_REPORT_XML,
        GET_REPORTS_XML,
        envelope=dataclasses.replace(
            API_XML.envelope, code_fields=("errors.0.code",), message_fields=("errors.0.message",)
        ),
    )
    body = b"<response><code>1</code><errors><code>404</code><message>gone</message></errors></response>"
    client = client_class("sync", spec)(**CREDENTIALS, http_client=raw(200, body).http("sync"), retries=0)
    with pytest.raises(NotFound) as caught:
        run_client("sync", client, lambda c: c.fetch_receipts(message_ids=["m-1"]))
    assert (caught.value.code, caught.value.message) == ("404", "gone")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<response><code>&lol2;</code></response>"""
# The same declaration in UTF-16, where the bytes "<!DOCTYPE" never appear: the parser stops it.
HIDDEN_DOCTYPE = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'.encode(
    "utf-16"
)
TOO_DEEP = b"<response>" + b"<a>" * (MAX_JSON_DEPTH + 1) + b"</a>" * (MAX_JSON_DEPTH + 1) + b"</response>"
TOO_MANY = b"<response><code>0</code><data>" + b"<reports/>" * MAX_XML_ELEMENTS + b"</data></response>"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("body", "why"),
    [
        (BILLION_LAUGHS, "declares a document type"),
        (HIDDEN_DOCTYPE, "declares a document type"),
        (b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>', "declares a document type"),
        (TOO_DEEP, f"nests deeper than {MAX_JSON_DEPTH} levels"),
        (TOO_MANY, f"has more than {MAX_XML_ELEMENTS} elements"),
        (b'{"code": 0}', "is not XML"),
    ],
    ids=["entities", "utf16-doctype", "external", "deep", "many", "json"],
)
def test_hostile_or_foreign_answers_are_the_typed_error_keeping_the_body(
    mode: str, body: bytes, why: str
) -> None:
    with pytest.raises(ProviderResponseError) as caught:
        fetch(mode, raw(200, body).http(mode), ["m-1"])
    assert why in caught.value.message
    kept = caught.value.raw_body
    assert kept is not None and kept[:64] == body[:64]  # the body as it came (an excerpt when large)
    assert kept == body or caught.value.raw_body_length == len(body)


@pytest.mark.parametrize("mode", MODES)
def test_an_answer_past_max_response_bytes_stops_being_read(mode: str) -> None:
    body = (
        b"<response><code>0</code><data>"
        + b"<reports><msgId>m</msgId></reports>" * 1000
        + b"</data></response>"
    )
    client = client_class(mode, API_XML)(
        **CREDENTIALS, http_client=raw(200, body).http(mode), retries=0, max_response_bytes=4096
    )
    with pytest.raises(ResponseTooLarge) as caught:
        run_client(mode, client, lambda c: c.fetch_receipts(message_ids=["m-1"]))
    assert caught.value.raw_body_length is not None and caught.value.raw_body_length > 4096


def test_read_answer_and_as_lists_are_what_the_client_does() -> None:
    body = b"<r><data><reports><msgId>m-1</msgId></reports></data><code>0</code></r>"
    read = xml_body.read_answer(body)
    assert read == {"data": {"reports": {"msgId": "m-1"}}, "code": "0"}
    assert xml_body.as_lists(read["data"], (("reports",), ("absent", "x"))) == {"reports": [{"msgId": "m-1"}]}
    nested = {"a": [{"b": {"c": "1"}}, {"b": {"c": ["2", "3"]}}]}
    assert xml_body.as_lists(nested, (("a[]", "b", "c"),)) == {
        "a": [{"b": {"c": ["1"]}}, {"b": {"c": ["2", "3"]}}]
    }
