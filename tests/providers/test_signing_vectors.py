"""Every seed's auth scheme, exactly as its spec declares it, reproduces the provider's own
published worked example. Expected values are copied from the providers' docs (sources
named per test), never produced by this code."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from dlr_core.request import PreparedRequest
from dlr_core.signing import Signer


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sign(
    scheme: Mapping[str, Any],
    request: PreparedRequest,
    variables: dict[str, str],
    *,
    clock: datetime,
    nonce: str | None = None,
) -> dict[str, Any]:
    return Signer(scheme, variables, clock=lambda: clock, nonce=(lambda: nonce) if nonce else None).sign(
        request
    )


def test_alibaba_rpc_v1_doc_example() -> None:
    """Alibaba Cloud "Request syntax and signature method V2 for RPC APIs"
    (https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism), its worked
    example, copied: testid / testsecret, DescribeRegions, Format=XML, nonce
    3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf, 2016-02-23T12:46:24Z, gives the published
    string-to-sign and OLeaidS1JvxuMvnyHOwuJ+uX5qY=."""
    from dlr_aliyun_dysms import API

    scheme = dict(API.auth_schemes["rpc_v1"])
    # The published example asks for XML; our spec asks for JSON. Only that constant differs.
    scheme["add"] = {"query": {**scheme["add"]["query"], "Format": "XML"}}
    request = PreparedRequest("GET", "http://ecs.aliyuncs.com", "/")
    values = sign(
        scheme,
        request,
        {
            "access_key_id": "testid",
            "access_key_secret": "testsecret",
            "action": "DescribeRegions",
            "api_version": "2014-05-26",
        },
        clock=at("2016-02-23T12:46:24Z"),
        nonce="3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    )
    assert values["string_to_sign"] == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert dict(request.query)["Signature"] == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert "Signature=OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D" in request.url


def test_alibaba_v3_doc_example() -> None:
    """Alibaba Cloud "Request syntax and signature method V3"
    (https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature),
    its fixed-value example, copied: RunInstances on ecs.cn-shanghai.aliyuncs.com,
    YourAccessKeyId / YourAccessKeySecret, 2023-10-26T10:22:32Z, nonce
    3156853299f313e23d1673dc12e1703d; the published canonical request, string-to-sign and
    Authorization (Signature=06563a9e...)."""
    from dlr_aliyun_dysms import API

    request = PreparedRequest(
        "POST",
        "https://ecs.cn-shanghai.aliyuncs.com",
        "/",
        query=[
            ("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"),
            ("RegionId", "cn-shanghai"),
        ],
    )
    values = sign(
        API.auth_schemes["v3"],
        request,
        {
            "access_key_id": "YourAccessKeyId",
            "access_key_secret": "YourAccessKeySecret",
            "action": "RunInstances",
            "api_version": "2014-05-26",
        },
        clock=at("2023-10-26T10:22:32Z"),
        nonce="3156853299f313e23d1673dc12e1703d",
    )
    assert values["canonical_request"] == (
        "POST\n/\n"
        "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
        "host:ecs.cn-shanghai.aliyuncs.com\n"
        "x-acs-action:RunInstances\n"
        "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-acs-date:2023-10-26T10:22:32Z\n"
        "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
        "x-acs-version:2014-05-26\n"
        "\n"
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert values["string_to_sign"] == (
        "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    assert request.headers["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,"
        "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


UCLOUD_KEYS = {
    "public_key": "ucloudsomeone@example.com1296235120854146120",
    "private_key": "46f09bb9fab4f12dfc160dae12273d5332b5debe",
}


def test_ucloud_doc_example_create_uhost_instance() -> None:
    """UCloud API signature doc (UCloudDoc-Team/api summary/signature.md, 2020 version)."""
    from dlr_ucloud_usms import API

    request = PreparedRequest(
        "POST",
        "https://api.ucloud.cn",
        "/",
        body_kind="form",
        form=[
            ("Action", "CreateUHostInstance"),
            ("CPU", "2"),
            ("ChargeType", "Month"),
            ("DiskSpace", "10"),
            ("ImageId", "f43736e1-65a5-4bea-ad2e-8a46e18883c2"),
            ("LoginMode", "Password"),
            ("Memory", "2048"),
            ("Name", "Host01"),
            ("Password", "VUNsb3VkLmNu"),
            ("Quantity", "1"),
            ("Region", "cn-bj2"),
            ("Zone", "cn-bj2-04"),
        ],
    )
    values = sign(API.auth_schemes["signature"], request, dict(UCLOUD_KEYS), clock=at("2020-01-01T00:00:00Z"))
    assert values["sorted_params"] + UCLOUD_KEYS["private_key"] == (
        "ActionCreateUHostInstanceCPU2ChargeTypeMonthDiskSpace10ImageIdf43736e1-65a5-4bea-ad2e-8a46e18883c2"
        "LoginModePasswordMemory2048NameHost01PasswordVUNsb3VkLmNuPublicKeyucloudsomeone@example.com"
        "1296235120854146120Quantity1Regioncn-bj2Zonecn-bj2-0446f09bb9fab4f12dfc160dae12273d5332b5debe"
    )
    assert dict(request.form)["Signature"] == "4f9ef5df2abab2c6fccd1e9515cb7e2df8c6bb65"


def test_ucloud_doc_example_describe_uhost_instance() -> None:
    """The current version of the same doc
    (https://github.com/UCloudDoc-Team/api/blob/master/summary/signature.md), its worked
    example, copied: the doc's PublicKey / PrivateKey, DescribeUHostInstance, Region cn-bj2,
    Limit 10; the published string to sign (parameters sorted by name, concatenated, the
    private key appended) and Signature cba5cf5ec4d4233d206b1b54951e3787350a642f."""
    from dlr_ucloud_usms import API

    request = PreparedRequest(
        "POST",
        "https://api.ucloud.cn",
        "/",
        body_kind="form",
        form=[("Action", "DescribeUHostInstance"), ("Region", "cn-bj2"), ("Limit", "10")],
    )
    values = sign(API.auth_schemes["signature"], request, dict(UCLOUD_KEYS), clock=at("2020-01-01T00:00:00Z"))
    assert values["sorted_params"] + UCLOUD_KEYS["private_key"] == (
        "ActionDescribeUHostInstanceLimit10PublicKeyucloudsomeone@example.com1296235120854146120"
        "Regioncn-bj246f09bb9fab4f12dfc160dae12273d5332b5debe"
    )
    assert dict(request.form)["Signature"] == "cba5cf5ec4d4233d206b1b54951e3787350a642f"


def test_itnio_doc_example() -> None:
    """ITNIO's "Sign Signature Rules" (https://www.itniotech.com/api/account/), its worked
    example, copied: MD5(bDqJFiq9 + 7bz1lzh9 + 1630468800) = 05d7a50893e22a5c4bb3216ae3396c7c,
    sent in the Sign, Timestamp and Api-Key headers of the documented request."""
    from dlr_itnio_voice import API

    request = PreparedRequest(
        "POST",
        "https://api.itniotech.com",
        "/voice/recallFlow/queryDetail",
        body_kind="json",
        json={"keyId": 12},
    )
    sign(
        API.auth_schemes["md5_header"],
        request,
        {"api_key": "bDqJFiq9", "api_secret": "7bz1lzh9"},
        clock=datetime.fromtimestamp(1630468800, tz=timezone.utc),
    )
    assert request.headers["Sign"] == "05d7a50893e22a5c4bb3216ae3396c7c"
    assert request.headers["Timestamp"] == "1630468800"
    assert request.headers["Api-Key"] == "bDqJFiq9"


def test_sgate_doc_example_digest_and_rsa_signature(tmp_path: Path) -> None:
    """SGATE's signature rules (https://docs.sgate.sa/en/payoutApi/apiRule/sign.html), its
    worked example, copied: the sign content of the documented GET /payee/custom/list request
    and its MD5 digest 8a5908e27626d79d73dc14bd9ba00e72. No key pair is published, so the RSA
    step is checked by verifying the signature with the public half of a test key
    (MD5withRSA, PKCS#1 v1.5)."""
    from dlr_sgate_otp import API

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    request = PreparedRequest("GET", "https://vbank.sgate.sa/openApi/v1", "/payee/custom/list")
    values = sign(
        API.auth_schemes["rsa_md5"],
        request,
        {"api_key": "xxxxxxxxxxxxxx", "private_key_pem": pem},
        clock=datetime.fromtimestamp(1686647706, tz=timezone.utc),
        nonce="TIj5tZ3gM6FbprYlKNR2",
    )
    assert values["sign_content"] == (
        '{"api_key":"xxxxxxxxxxxxxx","timestamp":1686647706,"nonce_str":"TIj5tZ3gM6FbprYlKNR2",'
        '"url":"/openApi/v1/payee/custom/list","method":"GET","body":""}'
    )
    assert values["digest"] == "8a5908e27626d79d73dc14bd9ba00e72"
    headers = request.headers
    assert (
        headers["V-Api-Key"],
        headers["V-Api-Version"],
        headers["V-Timestamp"],
        headers["V-Nonce-Str"],
    ) == ("xxxxxxxxxxxxxx", "1", "1686647706", "TIj5tZ3gM6FbprYlKNR2")
    key.public_key().verify(
        base64.b64decode(headers["V-Signature"]),
        b"8a5908e27626d79d73dc14bd9ba00e72",
        padding.PKCS1v15(),
        hashes.MD5(),
    )


TC3_SCHEME_YAML = """
description: TC3-HMAC-SHA256 (Tencent Cloud API 3.0).
timestamp: unix_seconds
add:
  header:
    X-TC-Action: "{action}"
    X-TC-Version: "{api_version}"
    X-TC-Timestamp: "{timestamp}"
sign:
  - as: canonical_request
    canonical_request:
      signed_headers: {names: [content-type, host]}
      payload_hash: "{body|sha256_hex}"
  - as: string_to_sign
    format: "TC3-HMAC-SHA256\\n{timestamp}\\n{timestamp|utc_date}/cvm/tc3_request\\n{canonical_request|sha256_hex}"
  - as: secret_date
    hmac: {algorithm: sha256, key: "TC3{secret_key}", input: "{timestamp|utc_date}", output: raw}
  - as: secret_service
    hmac: {algorithm: sha256, key: "{secret_date}", input: cvm, output: raw}
  - as: secret_signing
    hmac: {algorithm: sha256, key: "{secret_service}", input: tc3_request, output: raw}
  - as: signature
    hmac: {algorithm: sha256, key: "{secret_signing}", input: "{string_to_sign}", output: hex}
attach:
  header:
    Authorization: "TC3-HMAC-SHA256 Credential={secret_id}/{timestamp|utc_date}/cvm/tc3_request, SignedHeaders={signed_headers}, Signature={signature}"
"""


@pytest.mark.parametrize(
    ("secret_id", "secret_key", "expected"),
    [
        # Tencent "Signature v3" doc (cvm DescribeInstances), current masked-key version.
        (
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
            "Gu5t9xGARNpq86cd98joQYCN3*******",
            "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
        ),
        # The same doc's older version with EXAMPLE keys.
        (
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        ),
    ],
)
def test_v3_family_parts_express_tencent_tc3(
    tmp_path: Path, secret_id: str, secret_key: str, expected: str
) -> None:
    """The generic parts that serve Alibaba V3 also express TC3, and the spec format accepts it."""
    import yaml

    from generator.pipeline import load_providers
    from tests.generator.test_spec_errors import VALID

    scheme_yaml = "\n".join("      " + line for line in TC3_SCHEME_YAML.strip().splitlines())
    spec = VALID.replace("auth:\n", "api_version: '2017-03-12'\nauth:\n", 1)
    start, end = spec.index("  default_scheme: md5"), spec.index("envelope:")
    spec = spec[:start] + "  default_scheme: tc3\n  schemes:\n    tc3:\n" + scheme_yaml + "\n" + spec[end:]
    spec = spec.replace("api_key: {description: Key.}", "secret_id: {description: Id.}").replace(
        "api_secret: {description: Secret., secret: true}", "secret_key: {description: Key., secret: true}"
    )
    spec = spec.replace("    method: GET\n", "    method: GET\n    action: DescribeInstances\n")
    (tmp_path / "demo_sms.yaml").write_text(spec, encoding="utf-8")
    providers, problems = load_providers([tmp_path / "demo_sms.yaml"])
    assert problems == []
    scheme = providers[0].auth.schemes[0].definition
    assert scheme == yaml.safe_load(TC3_SCHEME_YAML)

    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    assert (
        hashlib.sha256(payload).hexdigest()
        == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    request = PreparedRequest(
        "POST",
        "https://cvm.tencentcloudapi.com",
        "/",
        body_kind="json",
        content=payload,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    values = sign(
        scheme,
        request,
        {
            "secret_id": secret_id,
            "secret_key": secret_key,
            "action": "DescribeInstances",
            "api_version": "2017-03-12",
        },
        clock=datetime.fromtimestamp(1551113065, tz=timezone.utc),
    )
    assert values["canonical_request"] == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
        "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert values["string_to_sign"] == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert request.headers["Authorization"] == (
        f"TC3-HMAC-SHA256 Credential={secret_id}/2019-02-25/cvm/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={expected}"
    )
