"""A callback's sign steps compiled (``dlr_core.sign_plan``, issue #25): the compiled path is
the one taken, it gives the interpreter's values (and the interpreter's refusals where it
gives up), the ``compared`` mode the tests rely on fails when the two differ; a read's
deadline on asyncio (``dlr_core.callback_deadlines``); receipts keyed as built."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

import pytest

from dlr_core import DeliveryStatus, Receipt, callback_deadlines, callback_run, sign_plan, steps
from dlr_core.callbacks import Callback, with_keys
from dlr_core.errors import CallbackSignatureError
from dlr_core.receipt_keys import keyed_as_built

from test_callbacks_runtime import TWILIO_PARAMS, TWILIO_SIGNATURE, TWILIO_TOKEN, TWILIO_URL, twilio

# Steps of every kind a push's check combines, one with no compiled form (canonical_headers,
# interpreted inside the plan, binding signed_headers), a filter, a chain, the query.
MIXED = {
    "format": "form",
    "verify": {
        "sign": [
            {"as": "fields", "sorted_concat": {"source": "query_and_body", "name_value_separator": "="}},
            {"as": "digest", "hash": {"algorithm": "sha256", "input": "{body}", "output": "hex"}},
            {"as": "lines", "canonical_headers": {"signed_headers": {"names": ["host"]}}},
            {"as": "where", "format": "{host|upper}|{digest}|{signed_headers}"},
            {
                "as": "derived",
                "hmac_chain": {
                    "algorithm": "sha256",
                    "key": "{secret}",
                    "inputs": ["{path}"],
                    "output": "raw",
                },
            },
            {
                "as": "signature",
                "hmac": {
                    "algorithm": "sha256",
                    "key": "{derived}",
                    "input": "{where}{lines}{fields}",
                    "output": "base64",
                },
            },
        ],
        "compare": {"header": "X-Sig", "value": ["{signature}", "{where}"]},
        "either_port": True,
    },
}
URLS = ("https://hooks.example.com/push?x=1&y=%2B", "https://hooks.example.com:443/push?x=1&y=%2B")
BODY = b"b=2&a=1&c=%2B3&a=0"


def _values(callback: Callback, mode: str, monkeypatch: pytest.MonkeyPatch, **changes: Any) -> Any:
    monkeypatch.setattr(callback_run, "SIGN_PATH", mode)
    args: dict[str, Any] = {
        "method": "POST",
        "urls": URLS,
        "body": BODY,
        "credentials": {"secret": "k"},
        "timestamp": None,
        "bound": callback.verify.sign,  # type: ignore[union-attr]
        **changes,
    }
    return callback_run.push_values_each(callback, **args)


def test_the_compiled_steps_give_the_interpreters_values_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    callback = Callback.from_data("demo", "push", MIXED)
    interpreted = _values(callback, "interpreted", monkeypatch)

    def no_interpreter(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the interpreter ran")

    monkeypatch.setattr(callback_run, "push_runs", no_interpreter)
    compiled = _values(callback, "compiled", monkeypatch)
    assert compiled == interpreted
    assert len(compiled) == 2 and compiled[0]["{signature}"] != compiled[1]["{signature}"]
    assert compiled[0]["{where}"] == f"HOOKS.EXAMPLE.COM|{compiled[0]['{where}'].split('|')[1]}|host"


def test_the_compiled_steps_run_again_only_where_the_second_url_reaches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    callback = Callback.from_data("demo", "push", MIXED)
    ran: list[str] = []
    for kind, compiler in list(sign_plan.COMPILERS.items()):

        def spying(step: Any, compiler: Any = compiler) -> Any:
            compiled = compiler(step)
            name = next(b.name for b in callback.verify.sign if b.step is step)  # type: ignore[union-attr]
            return lambda values, push, now: ran.append(name) or compiled(values, push, now)

        monkeypatch.setitem(sign_plan.COMPILERS, kind, spying)
    monkeypatch.setattr(sign_plan, "_PLANS", {})
    _values(callback, "compiled", monkeypatch)
    # the sorted fields, the body's digest and the path's key are the same at both URLs;
    # canonical_headers (interpreted) reads the host and is not counted here
    assert ran == ["fields", "digest", "where", "derived", "signature", "where", "signature"]


def test_compared_fails_when_a_compiled_form_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    callback = Callback.from_data("demo", "push", MIXED)
    monkeypatch.setitem(sign_plan.COMPILERS, steps.Hmac, lambda step: lambda values, push, now: "forged")
    monkeypatch.setattr(sign_plan, "_PLANS", {})
    with pytest.raises(AssertionError, match="the compiled sign steps gave"):
        _values(callback, "compared", monkeypatch)
    assert (
        _values(callback, "compiled", monkeypatch)[0]["{signature}"] == "forged"
    )  # the spy is the path taken


def test_compared_fails_when_only_the_compiled_forms_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    callback = Callback.from_data("demo", "push", MIXED)

    def giving_up(step: Any) -> Any:
        def compiled(values: Any, push: Any, now: Any) -> Any:
            raise KeyError("gave up")

        return compiled

    monkeypatch.setitem(sign_plan.COMPILERS, steps.Hmac, giving_up)
    monkeypatch.setattr(sign_plan, "_PLANS", {})
    with pytest.raises(AssertionError, match="failed .*KeyError"):
        _values(callback, "compared", monkeypatch)
    # in use, the interpreter answers instead
    assert _values(callback, "compiled", monkeypatch) == _values(callback, "interpreted", monkeypatch)


@pytest.mark.parametrize("mode", ["compiled", "interpreted", "compared"])
def test_a_refusal_is_the_interpreters_whichever_path(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template naming no value, bytes inside text, a credential named like a pushed
    value: the compiled forms give up and the interpreter's located reason is given."""
    monkeypatch.setattr(callback_run, "SIGN_PATH", mode)
    wrong = {
        "format": "form",
        "verify": {
            "sign": [{"as": "signature", "format": "{nowhere}"}],
            "compare": {"header": "X-Sig", "value": "{signature}"},
        },
    }
    callback = Callback.from_data("demo", "push", wrong)
    with pytest.raises(CallbackSignatureError, match=r"uses \{nowhere\}, which has no value"):
        callback.payloads("POST", URLS[0], {"X-Sig": "x"}, BODY, credentials={"secret": "k"})
    clash = Callback.from_data("demo", "push", MIXED)
    with pytest.raises(CallbackSignatureError, match="the credential 'host' has the name"):
        clash.payloads("POST", URLS[0], {"X-Sig": "x"}, BODY, credentials={"secret": "k", "host": "h"})


@pytest.mark.parametrize("mode", ["compiled", "compared"])
def test_twilio_published_example_verifies_compiled(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(callback_run, "SIGN_PATH", mode)
    body = urlencode(TWILIO_PARAMS).encode()
    [payload] = twilio().payloads(
        "POST",
        TWILIO_URL,
        {"X-Twilio-Signature": TWILIO_SIGNATURE},
        body,
        credentials={"auth_token": TWILIO_TOKEN},
    )
    assert payload == TWILIO_PARAMS
    with pytest.raises(CallbackSignatureError):
        twilio().payloads(
            "POST",
            TWILIO_URL,
            {"X-Twilio-Signature": TWILIO_SIGNATURE},
            body + b"&x=1",
            credentials={"auth_token": TWILIO_TOKEN},
        )


# -- deadlines --------------------------------------------------------------------------------


def test_reads_within_their_deadline_leave_nothing_behind() -> None:
    async def read(value: int) -> int:
        await asyncio.sleep(0)
        return value

    async def many() -> tuple[list[int], Any]:
        done = await asyncio.gather(*(callback_deadlines.within(5.0, read(n)) for n in range(50)))
        return done, callback_deadlines._WATCHES[asyncio.get_running_loop()][5.0]

    done, watch = asyncio.run(many())
    assert done == list(range(50))
    assert not watch.deadlines and not watch.expired


def test_loops_in_other_threads_keep_their_own_deadlines() -> None:
    """Two servers' loops in two threads, reading at once with the same timeout: each loop's
    reads are watched by a timer of that loop (a watch shared between loops would time out
    on a loop that is not running, or not at all), so the read that never ends times out
    and the other gives its value."""

    async def never() -> None:
        await asyncio.Event().wait()

    async def quick() -> str:
        await asyncio.sleep(0.3)
        return "read"

    results: dict[str, object] = {}

    def serve(name: str, work: Callable[[], Coroutine[Any, Any, Any]], seconds: float) -> None:
        async def main() -> None:
            try:
                results[name] = await callback_deadlines.within(seconds, work())
            except BaseException as error:  # noqa: BLE001 - what ended the read is the result
                results[name] = type(error)

        asyncio.run(main())

    threads = [
        threading.Thread(target=serve, args=("stuck", never, 0.5)),
        threading.Thread(target=serve, args=("slow", quick, 0.5)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == {"stuck": TimeoutError, "slow": "read"}


def test_a_read_past_its_deadline_is_a_timeout_within_a_tick() -> None:
    async def never() -> None:
        await asyncio.Event().wait()

    async def timed() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await callback_deadlines.within(0.2, never())
        return loop.time() - started

    elapsed = asyncio.run(timed())
    assert 0.2 <= elapsed < 0.2 * (1 + 1 / callback_deadlines.TICKS) + 0.1


def test_a_read_cancelled_by_another_stays_cancelled() -> None:
    """The server cancelling a request (the client left) is not a timeout."""

    async def never() -> None:
        await asyncio.Event().wait()

    async def main() -> None:
        task = asyncio.ensure_future(callback_deadlines.within(5.0, never()))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


# -- receipts keyed as built ------------------------------------------------------------------


def test_receipts_keyed_as_built_are_those_with_keys_copies() -> None:
    def fresh() -> list[Receipt]:
        return [
            Receipt(provider="demo", status=DeliveryStatus.DELIVERED, raw_status={"s": "ok"}, raw={"id": n})
            for n in ("m-1", "m-2")
        ]

    copies = with_keys(fresh())
    keyed = keyed_as_built(fresh())
    assert keyed == copies and [r.idempotency_key for r in keyed] == [r.idempotency_key for r in copies]
    assert [r.model_fields_set for r in keyed] == [r.model_fields_set for r in copies]
    assert keyed[0].idempotency_key != keyed[1].idempotency_key
