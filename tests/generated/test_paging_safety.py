"""Generated clients' paging and queue reads against hostile answers: next-page links stay
on the client's origin (credentials never leave it), and the generated queue operations
are marked ``consuming``. (The runtime itself against hostile answers, on an API built in
code: runtime/tests/test_runtime_safety.py.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import dlr_core
from dlr_core.mock import MockProvider

from tests.conftest import run_client as run
from http_doubles import Transport, answer, record_everything, serve

TWILIO = {"account_sid": "AC" + "a" * 32, "auth_token": "twilio-token-value"}
MESSAGES = f"/2010-04-01/Accounts/{TWILIO['account_sid']}/Messages.json"


def collect(mode: str, iterator: Any, into: list[Any]) -> Any:
    """Drain a sync iterator into ``into`` (kept when the iteration raises); for an async
    one, the coroutine that does (``run`` awaits it)."""
    if mode == "sync":
        into.extend(iterator)
        return None

    async def main() -> None:
        async for item in iterator:
            into.append(item)

    return main()


def client_for(package: Any, mode: str, credentials: dict[str, str], **options: Any) -> Any:
    cls = package.Client if mode == "sync" else package.AsyncClient
    return cls(**credentials, **options)


# -- next-page links stay on the client's origin -----------------------------------------


def twilio_page(page: int, next_uri: str | None) -> dict[str, Any]:
    messages = [{"sid": f"SM{page}{i}", "to": "+1", "status": "sent"} for i in range(2)]
    return {"messages": messages, "next_page_uri": next_uri, "page": page, "page_size": 2}


@pytest.mark.parametrize("where", ["another host", "another port"])
def test_next_link_to_another_origin_is_refused_and_that_origin_gets_nothing(mode: str, where: str) -> None:
    import dlr_twilio_messaging

    with serve(record_everything) as elsewhere:
        ports: list[int] = []

        def pages(request: MockRequest) -> dict[str, Any]:
            # "localhost" is this very mock under another host name: it must not be asked.
            host = f"localhost:{ports[0]}" if where == "another host" else f"127.0.0.1:{elsewhere.port}"
            if "Page" in dict(request.query):
                return twilio_page(1, None)  # (were the link followed)
            return twilio_page(0, f"http://{host}{MESSAGES}?Page=1&PageToken=PA1")

        with MockProvider(
            dlr_twilio_messaging.API, TWILIO, scenario={"list_messages": [{"respond": pages}]}
        ) as mock:
            ports.append(int(mock.base_url.rsplit(":", 1)[1]))
            client = client_for(dlr_twilio_messaging, mode, TWILIO, base_url=mock.base_url)
            got: list[Any] = []
            with pytest.raises(dlr_core.UnsafeLinkError) as caught:
                run(mode, client, lambda c: collect(mode, c.iter_list_messages(page_size=2), got))
    assert [m.sid for m in got] == ["SM00", "SM01"]  # the first page, then the refusal
    assert len(mock.requests) == 1 and elsewhere.seen == []
    error = caught.value
    expected = (
        f"http://localhost:{ports[0]}" if where == "another host" else f"http://127.0.0.1:{elsewhere.port}"
    )
    assert error.origin == expected and expected in str(error)
    assert TWILIO["auth_token"] not in str(error) + repr(error)
    assert isinstance(error, dlr_core.ProviderResponseError)


@pytest.mark.parametrize(
    "link",
    [
        f"http://api.twilio.test{MESSAGES}?Page=1",  # plain http instead of https
        f"https://api.twilio.test:8443{MESSAGES}?Page=1",  # another port
        f"https://evil.test{MESSAGES}?Page=1",
        f"//evil.test{MESSAGES}?Page=1",  # scheme-relative: another host
        f"https://api.twilio.test@evil.test{MESSAGES}",  # user info: the host is evil.test
        f"https://api.twilio.test.evil.test{MESSAGES}",
        "ftp://api.twilio.test/x",
    ],
)
def test_next_link_off_origin_sends_nothing_anywhere(mode: str, link: str) -> None:
    import dlr_twilio_messaging

    def respond(request: httpx.Request) -> httpx.Response:
        first = len(transport.requests) == 1
        return answer(200, json_body=twilio_page(0 if first else 1, link if first else None))

    transport = Transport(respond)
    client = client_for(
        dlr_twilio_messaging,
        mode,
        TWILIO,
        base_url="https://api.twilio.test",
        http_client=transport.http(mode),
    )
    with pytest.raises(dlr_core.UnsafeLinkError):
        run(mode, client, lambda c: collect(mode, c.iter_list_messages(page_size=2), []))
    assert [str(r.url.copy_with(query=None)) for r in transport.requests] == [
        f"https://api.twilio.test{MESSAGES}"
    ]


@pytest.mark.parametrize(
    ("link", "followed"),
    [
        (f"{MESSAGES}?Page=1&PageToken=PA1", f"https://api.twilio.test{MESSAGES}"),  # absolute path
        ("Messages.json?Page=1&PageToken=PA1", f"https://api.twilio.test{MESSAGES}"),  # relative to the page
        (
            "../Calls.json?Page=1",
            "https://api.twilio.test/2010-04-01/Accounts/Calls.json",
        ),  # RFC 3986 resolution
        (
            f"HTTPS://API.TWILIO.TEST:443{MESSAGES}?Page=1",
            f"https://api.twilio.test{MESSAGES}",
        ),  # same origin
    ],
)
def test_next_link_on_the_same_origin_is_followed(mode: str, link: str, followed: str) -> None:
    import dlr_twilio_messaging

    def respond(request: httpx.Request) -> httpx.Response:
        first = "Page" not in request.url.params
        return answer(200, json_body=twilio_page(0 if first else 1, link if first else None))

    transport = Transport(respond)
    client = client_for(
        dlr_twilio_messaging,
        mode,
        TWILIO,
        base_url="https://api.twilio.test",
        http_client=transport.http(mode),
    )
    got: list[Any] = []
    run(mode, client, lambda c: collect(mode, c.iter_list_messages(page_size=2), got))
    assert [m.sid for m in got] == ["SM00", "SM01", "SM10", "SM11"]
    second = transport.requests[1]
    assert str(second.url.copy_with(query=None)) == followed
    assert second.headers["authorization"].startswith("Basic ")


def test_twilio_relative_next_page_uri_is_followed_against_the_real_mock(mode: str) -> None:
    import dlr_twilio_messaging

    def pages(request: MockRequest) -> dict[str, Any]:
        page = int(dict(request.query).get("Page", "0"))
        return twilio_page(page, f"{MESSAGES}?PageSize=2&Page={page + 1}" if page < 2 else None)

    with MockProvider(
        dlr_twilio_messaging.API, TWILIO, scenario={"list_messages": [{"respond": pages}]}
    ) as mock:
        client = client_for(dlr_twilio_messaging, mode, TWILIO, base_url=mock.base_url)
        got: list[Any] = []
        run(mode, client, lambda c: collect(mode, c.iter_list_messages(page_size=2), got))
    assert len(got) == 6 and len(mock.requests) == 3 and all(r.authenticated for r in mock.requests)


def test_generated_queue_operations_are_marked_consuming() -> None:
    import dlr_infobip_sms.api
    import dlr_tencent_sms.api

    assert dlr_tencent_sms.api.PULL_SMS_SEND_STATUS.consuming
    assert dlr_infobip_sms.api.GET_DELIVERY_REPORTS.consuming
    assert not dlr_tencent_sms.api.PULL_SMS_SEND_STATUS_BY_PHONE_NUMBER.consuming
