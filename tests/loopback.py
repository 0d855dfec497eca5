"""A real HTTP server on 127.0.0.1 that checks each provider's signature the way the
provider does, written here independently from the providers' docs (it shares no code
with dlr_core.signing), and answers with the docs' example responses.

Modes script the failures: ``ok``, ``envelope_error``, ``html_502``, ``html_200``,
``status_500``, ``slow``, ``redirect`` (to another host), ``gzip_bomb`` (20 MB of zeros,
gzipped), ``drop`` (the connection closes once the request is read) and ``set_cookie`` (a
normal answer that sets a cookie).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.conftest import load_fixture


@dataclass
class Received:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def form(self) -> list[tuple[str, str]]:
        return urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True)


def rfc3986(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


# -- the providers' checks, from their docs ----------------------------------------------


def aliyun_v3_ok(r: Received, key_id: str, secret: str) -> bool:
    auth = r.headers.get("authorization", "")
    if not auth.startswith("ACS3-HMAC-SHA256 "):
        return False
    fields = dict(part.split("=", 1) for part in auth[len("ACS3-HMAC-SHA256 ") :].split(","))
    signed = fields["SignedHeaders"].split(";")
    if fields["Credential"] != key_id or "host" not in signed or "x-acs-date" not in signed:
        return False
    if r.headers.get("x-acs-content-sha256") != hashlib.sha256(r.body).hexdigest():
        return False
    query = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in sorted(r.query))
    headers = "".join(f"{name}:{r.headers[name].strip()}\n" for name in signed)
    canonical = "\n".join(
        [r.method, r.path, query, headers, ";".join(signed), hashlib.sha256(r.body).hexdigest()]
    )
    string_to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["Signature"])


def aliyun_rpc_v1_ok(r: Received, key_id: str, secret: str) -> bool:
    params = dict(r.query)
    signature = params.pop("Signature", "")
    if params.get("AccessKeyId") != key_id or params.get("SignatureMethod") != "HMAC-SHA1":
        return False
    canonical = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{r.method}&%2F&{rfc3986(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature)


def ucloud_ok(r: Received, public_key: str, private_key: str) -> bool:
    params = dict(r.form)
    signature = params.pop("Signature", "")
    if params.get("PublicKey") != public_key:
        return False
    text = "".join(f"{k}{v}" for k, v in sorted(params.items())) + private_key
    return hmac.compare_digest(hashlib.sha1(text.encode()).hexdigest(), signature)


def itnio_ok(r: Received, api_key: str, api_secret: str) -> bool:
    timestamp = r.headers.get("timestamp", "")
    expected = hashlib.md5(f"{api_key}{api_secret}{timestamp}".encode()).hexdigest()
    return r.headers.get("api-key") == api_key and hmac.compare_digest(
        expected, r.headers.get("sign", "").lower()
    )


def sgate_ok(r: Received, api_key: str, public_key: rsa.RSAPublicKey) -> bool:
    url = r.path + (f"?{'&'.join(f'{k}={rfc3986(v)}' for k, v in r.query)}" if r.query else "")
    content = json.dumps(
        {
            "api_key": r.headers.get("v-api-key"),
            "timestamp": int(r.headers.get("v-timestamp", "0")),
            "nonce_str": r.headers.get("v-nonce-str"),
            "url": url,
            "method": r.method,
            "body": r.body.decode() if r.method != "GET" else "",
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    digest = hashlib.md5(content.encode()).hexdigest()
    if r.headers.get("v-api-key") != api_key or r.headers.get("v-api-version") != "1":
        return False
    try:
        public_key.verify(
            base64.b64decode(r.headers.get("v-signature", "")),
            digest.encode(),
            padding.PKCS1v15(),
            hashes.MD5(),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


# -- what each provider answers -----------------------------------------------------------


@dataclass
class Provider:
    verify: Callable[[Received], bool]
    success: tuple[int, Any]
    auth_failure: tuple[int, Any]
    envelope_error: tuple[int, Any]


def providers(sgate_public_key: rsa.RSAPublicKey) -> dict[str, Provider]:
    return {
        "aliyun_dysms": Provider(
            verify=lambda r: (
                aliyun_v3_ok(r, "LTAI-test", "aliyun-secret-123")
                if "authorization" in r.headers
                else aliyun_rpc_v1_ok(r, "LTAI-test", "aliyun-secret-123")
            ),
            success=(200, load_fixture("aliyun_dysms_query_send_details.json")),
            auth_failure=(
                400,
                {
                    "Code": "SignatureDoesNotMatch",
                    "RequestId": "6D2E-AUTH",
                    "Message": "Specified signature is not matched with our calculation.",
                },
            ),
            envelope_error=(
                200,
                {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "6D2E-ERR"},
            ),
        ),
        "ucloud_usms": Provider(
            verify=lambda r: ucloud_ok(r, "ucloud-public", "ucloud-private-456"),
            success=(200, load_fixture("ucloud_usms_get_usms_send_receipt.json")),
            auth_failure=(200, {"RetCode": 171, "Message": "Signature VerifyAC Error"}),
            envelope_error=(200, {"RetCode": 18003, "Message": "request params invalid"}),
        ),
        "itnio_voice": Provider(
            verify=lambda r: itnio_ok(r, "bDqJFiq9", "itnio-secret-789"),
            success=(200, load_fixture("itnio_voice_query_recall_flow_detail.json")),
            # The docs' table names the envelope status/reason: answer errors that way.
            auth_failure=(200, {"status": "-1", "reason": "Authentication error"}),
            envelope_error=(200, {"status": "-22", "reason": "Parameter exception"}),
        ),
        "sgate_otp": Provider(
            verify=lambda r: sgate_ok(r, "sgate-key", sgate_public_key),
            success=(200, load_fixture("sgate_otp_otp_detail.json")),
            # SGATE documents no error codes: answer HTTP 401 with a code the spec does not list.
            auth_failure=(
                401,
                {
                    "code": 401,
                    "message": "signature verification failed",
                    "data": None,
                    "requestId": "SG-AUTH",
                },
            ),
            envelope_error=(
                200,
                {"code": 500, "message": "system busy", "data": None, "requestId": "SG-ERR"},
            ),
        ),
    }


@dataclass
class LoopbackServer:
    provider: Provider
    mode: str = "ok"
    received: list[Received] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    base_url: str = ""


@contextmanager
def serve(provider: Provider, base_path: str = "") -> Iterator[LoopbackServer]:
    state = LoopbackServer(provider)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._answer()

        def do_POST(self) -> None:  # noqa: N802
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            split = urllib.parse.urlsplit(self.path)
            received = Received(
                self.command,
                split.path,
                urllib.parse.parse_qsl(split.query, keep_blank_values=True),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            state.received.append(received)
            ok = state.provider.verify(received)
            state.verified.append(ok)
            if state.mode == "slow":
                time.sleep(1.0)
            if state.mode == "html_502":
                return self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            if state.mode == "html_200":
                return self._send(200, b"<html><body>Maintenance</body></html>", "text/html")
            if state.mode == "status_500":
                return self._send(500, b'{"error": "internal"}', "application/json")
            if state.mode == "redirect":
                self.send_response(302)
                self.send_header("Location", "http://elsewhere.invalid/collect")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if state.mode == "gzip_bomb":  # 20 MB of zeros in 20 KB
                bomb = gzip.compress(b"0" * 20_000_000)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(bomb)))
                self.end_headers()
                self.wfile.write(bomb)
                return None
            if state.mode == "drop":  # the request arrived; the connection closes unanswered
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            status, payload = state.provider.success if ok else state.provider.auth_failure
            if ok and state.mode == "envelope_error":
                status, payload = state.provider.envelope_error
            self._send(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

        def _send(self, status: int, content: bytes, content_type: str) -> None:
            self.send_response(status)
            if state.mode == "set_cookie":
                self.send_header("Set-Cookie", "route=b7; Path=/")
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that timed out and left
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}{base_path}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
