"""X.509 certificates a push names by URL (its signer's public key), fetched safely.

Some providers sign each push with a private key whose certificate they publish at a URL
the push itself carries (a notification service's signing certificate URL). A receiver must never fetch a
URL an attacker chose and trust what comes back, so a callback's spec pins where such a
certificate may come from (``CertificateSource``: ``https`` only, a host pattern, a path
pattern), and the URL is checked **before** anything is fetched.

``CertificateStore`` fetches (through an injectable ``CertificateFetcher``: tests and the
mock hand over certificates without a network), bounds what it reads (size, time), and
caches each certificate's public key by URL. ``default_store()`` is the process-wide store
the generated parsers use unless given ``certificates=``.

Needs ``cryptography`` (``pip install 'dlr-core[crypto]'``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dlr_core.steps import SigningError

__all__ = [
    "MAX_CERTIFICATE_BYTES",
    "CertificateError",
    "CertificateFetcher",
    "CertificateSource",
    "CertificateStore",
    "StaticCertificates",
    "default_store",
    "fetch_https",
    "make_test_certificate",
]

MAX_CERTIFICATE_BYTES = 64 * 1024
"""The most bytes read of a certificate (a PEM certificate is 2-3 KiB)."""
FETCH_TIMEOUT = 5.0
"""Seconds a certificate fetch may take in all, by default."""

CertificateFetcher = Callable[[str], bytes]
"""``url -> the certificate's bytes`` (PEM); raises ``CertificateError`` when it cannot."""


class CertificateError(SigningError):
    """A certificate URL is not one the spec allows, or its certificate cannot be had."""


@dataclass(frozen=True)
class CertificateSource:
    """Where a push's certificate URL may point: ``https`` only, a host matching
    ``host_pattern`` (a Python regular expression, matched in full against the lowercased
    host) and a path matching ``path_pattern`` (searched), without a user name, a password
    or a port other than 443."""

    host_pattern: str
    path_pattern: str = ""

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched, or ``None`` when it may."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return "the certificate URL is not a URL"
        if parts.scheme != "https":
            return "the certificate URL is not https"
        if parts.username is not None or parts.password is not None or port not in (None, 443):
            return "the certificate URL has a user, a password or a port"
        host = (parts.hostname or "").lower()
        if not re.fullmatch(self.host_pattern, host):
            return f"the certificate host {host[:100]!r} is not one the spec allows"
        if self.path_pattern and not re.search(self.path_pattern, parts.path):
            return "the certificate path is not one the spec allows"
        return None


def fetch_https(url: str, *, timeout: float = FETCH_TIMEOUT, max_bytes: int = MAX_CERTIFICATE_BYTES) -> bytes:
    """The bytes at ``url`` (an https URL already checked), read within ``timeout``
    seconds and ``max_bytes`` bytes; redirects are not followed (a redirect could leave
    the allowed host). ``CertificateError`` otherwise."""
    import httpx  # here, where a certificate is fetched: reading a spec's callbacks needs no httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            with client.stream("GET", url) as answer:
                if answer.status_code != 200:
                    raise CertificateError(f"fetching the certificate answered HTTP {answer.status_code}")
                data = b""
                for chunk in answer.iter_bytes():
                    data += chunk
                    if len(data) > max_bytes:
                        raise CertificateError(f"the certificate is larger than {max_bytes} bytes")
                return data
    except httpx.HTTPError as exc:
        raise CertificateError(f"the certificate cannot be fetched: {type(exc).__name__}") from None


class StaticCertificates:
    """A ``CertificateFetcher`` answering from a mapping ``url -> PEM``: for tests, the mock
    and receivers that pin the provider's certificates. Any other URL is refused."""

    def __init__(self, certificates: Mapping[str, str | bytes]) -> None:
        self._certificates = {
            url: pem.encode("ascii") if isinstance(pem, str) else pem for url, pem in certificates.items()
        }

    def __call__(self, url: str) -> bytes:
        try:
            return self._certificates[url]
        except KeyError:
            raise CertificateError("no certificate is known for that URL") from None

    def __repr__(self) -> str:
        return f"StaticCertificates({len(self._certificates)} certificates)"


class CertificateStore:
    """Public keys of certificates fetched by URL, cached (at most ``max_entries`` URLs,
    the least recently used dropped first). A URL is checked against the callback's
    ``CertificateSource`` before the cache or the fetcher sees it."""

    def __init__(self, fetch: CertificateFetcher | None = None, *, max_entries: int = 64) -> None:
        self.fetch: CertificateFetcher = fetch or fetch_https
        self.max_entries = max_entries
        self._keys: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.fetches: int = 0
        """How many certificates were fetched (the cache's misses)."""

    def public_key(self, url: str, source: CertificateSource) -> Any:
        """The public key of the certificate at ``url``; ``CertificateError`` when the URL
        is not allowed (nothing is fetched), or the certificate cannot be fetched or read."""
        why = source.refusal(url)
        if why is not None:
            raise CertificateError(why)
        with self._lock:
            if url in self._keys:
                self._keys.move_to_end(url)
                return self._keys[url]
        data = self.fetch(url)
        if len(data) > MAX_CERTIFICATE_BYTES:
            raise CertificateError(f"the certificate is larger than {MAX_CERTIFICATE_BYTES} bytes")
        key = _certificate_public_key(data)
        with self._lock:
            self.fetches += 1
            self._keys[url] = key
            while len(self._keys) > self.max_entries:
                self._keys.popitem(last=False)
        return key

    def __repr__(self) -> str:
        return f"CertificateStore({len(self._keys)} cached)"


def _certificate_public_key(data: bytes) -> Any:
    try:
        from cryptography import x509
    except ImportError:
        raise SigningError(
            "certificate verification needs the cryptography package: pip install 'dlr-core[crypto]'"
        ) from None
    try:
        return x509.load_pem_x509_certificate(data).public_key()
    except ValueError:
        raise CertificateError("the fetched certificate is not a PEM X.509 certificate") from None


_default: CertificateStore | None = None
_default_lock = threading.Lock()


def default_store() -> CertificateStore:
    """The process-wide store (fetching over https), made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = CertificateStore()
        return _default


def make_test_certificate(common_name: str = "dlrgen test signer") -> tuple[str, str]:
    """A new RSA key and a self-signed certificate for it, valid for a day: ``(PEM private
    key, PEM certificate)``. For the mock and tests: sign pushes with the key, hand the
    receiver the certificate (``StaticCertificates({url: certificate})``)."""
    import datetime

    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise SigningError(
            "test certificates need the cryptography package: pip install 'dlr-core[crypto]'"
        ) from None
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return private, certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
