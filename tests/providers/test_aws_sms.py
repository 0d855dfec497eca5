"""AWS End User Messaging SMS events through an Amazon SNS HTTPS subscription (push only).

The signature proofs:

- ``test_sns_signature_published_examples``: four messages signed by Amazon SNS itself, with
  SNS's certificate, as published in AWS's official validator's functional tests
  (https://github.com/aws/aws-php-sns-message-validator/blob/master/tests/FunctionalValidationsTest.php,
  ``getHttpFixtures`` and ``$certificate``): SignatureVersion 1 and 2, with and without
  Subject. They verify; one changed byte does not.
- ``test_sns_signed_event_by_the_sdk_algorithm``: an SMS event we sign in the test with a
  key and certificate made here, the string to sign built by an independent re-implementation
  of the same validator's ``MessageValidator::getStringToSign``
  (https://github.com/aws/aws-php-sns-message-validator/blob/master/src/MessageValidator.php:
  ``name\\nvalue\\n`` for each of its eight signable keys present, in its order) and the
  algorithm its ``validate`` picks (SignatureVersion "1": SHA1withRSA, else SHA256withRSA;
  ``getStringToSign`` refuses any version but "1" and "2").
- Certificate URLs as ``MessageValidator::validateUrl`` allows them (https, its host
  pattern, ending in .pem): forged hosts are refused without any fetch.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
from typing import Any

import httpx
import pytest

from dlr_core import CallbackSignatureError, DeliveryStatus, MalformedCallback
from dlr_core.callbacks import CallbackApp, HandshakePush
from dlr_core.certificates import CertificateError, CertificateStore, StaticCertificates
from dlr_core.push import push, read_scenario

import dlr_aws_sms.callbacks as aws

CERT_URL = (
    "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
)
TOPIC = "arn:aws:sns:us-east-1:123456789012:sms-events"
URL = "https://hooks.example.com/callbacks/aws"

# The certificate of aws-php-sns-message-validator's tests/FunctionalValidationsTest.php
# ($certificate): the real SNS certificate those messages were signed with.
SNS_CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIF1zCCBL+gAwIBAgIQB9pYWG3Mi7xej22g9pobJTANBgkqhkiG9w0BAQsFADBG
MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRUwEwYDVQQLEwxTZXJ2ZXIg
Q0EgMUIxDzANBgNVBAMTBkFtYXpvbjAeFw0yMTA5MDcwMDAwMDBaFw0yMjA4MTcy
MzU5NTlaMBwxGjAYBgNVBAMTEXNucy5hbWF6b25hd3MuY29tMIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEAutFqueT3XgP13udzxE6UpbdjOtVO5DwoMpSM
iDNMnGzF1TYH5/R2LPUOBeTB0SkKnR4kpNcUZhicpGD4aKciz/GEZ6wu65xncfT9
H/KBOQwoXYTuClHwp6fYpGzcGFaFoEYMnijL/o4qmTSd+ukglQUgKpsDw4ofw6rU
m2CttJo+GQSNQ9NfGR1h/0J+zsApkeSYrXRx5wNlu87z8os1C/6PBrUHwt3xXeaf
Xzfwut8aRRYsS8BySOA9DAgLfNHlfdQCjKPXKrG/ussgReyWD6n/HH+j7Uha3xos
TzQqJifcxlTq6MxWdPR6fDaJNvqw6DOE7UjUNxHguXHlVfxhlQIDAQABo4IC6TCC
AuUwHwYDVR0jBBgwFoAUWaRmBlKge5WSPKOUByeWdFv5PdAwHQYDVR0OBBYEFAqz
C+vyouneE7mWWLbi9i0UsWUbMBwGA1UdEQQVMBOCEXNucy5hbWF6b25hd3MuY29t
MA4GA1UdDwEB/wQEAwIFoDAdBgNVHSUEFjAUBggrBgEFBQcDAQYIKwYBBQUHAwIw
OwYDVR0fBDQwMjAwoC6gLIYqaHR0cDovL2NybC5zY2ExYi5hbWF6b250cnVzdC5j
b20vc2NhMWIuY3JsMBMGA1UdIAQMMAowCAYGZ4EMAQIBMHUGCCsGAQUFBwEBBGkw
ZzAtBggrBgEFBQcwAYYhaHR0cDovL29jc3Auc2NhMWIuYW1hem9udHJ1c3QuY29t
MDYGCCsGAQUFBzAChipodHRwOi8vY3J0LnNjYTFiLmFtYXpvbnRydXN0LmNvbS9z
Y2ExYi5jcnQwDAYDVR0TAQH/BAIwADCCAX0GCisGAQQB1nkCBAIEggFtBIIBaQFn
AHYAKXm+8J45OSHwVnOfY6V35b5XfZxgCvj5TV0mXCVdx4QAAAF7vfDVkQAABAMA
RzBFAiEA2XfHuy36aqRFiaL8c3md2mH451go8707+fRE0pEdSRACIE/g5FXTUXUZ
PFcmOhm9TZ+uMY1i4CIQ/CKVWln6C3t+AHYAUaOw9f0BeZxWbbg3eI8MpHrMGyfL
956IQpoN/tSLBeUAAAF7vfDVjAAABAMARzBFAiBF1MhhFP0+FQt3daDFfMYoWwnr
muTInrjNpwfzlvQBugIhAPYadFzr+LaxSJoiZEbEHBvTts7bT0M3eCQONA2O7w6n
AHUAQcjKsd8iRkoQxqE6CUKHXk4xixsD6+tLx2jwkGKWBvYAAAF7vfDVdAAABAMA
RjBEAiAtPapmFAuA71ih4NoSd5hJelzAltNQpxDMcDfDyHyU8gIgWxmaa6+2KbBu
9xdv379zvnJACFR7jc+4asl08Dn4aagwDQYJKoZIhvcNAQELBQADggEBAA54QX0u
oFWXfMmv02CGZv4NWo5TapyeeixQ2kKpZHRdVZjxZrw+hoF6HD7P3kGjH8ztyJll
tDxB0qgMltbPhQdScwhA6iTgoaBYqEUC/VHKd4PmmPT6yIsM36NBZVmkGlzl5uNo
/dBgBaG0SsVJnhr5zro3c2quC7n6fVGEZhf/UgQwRnnvThnvbNKguglDMq4uEqv8
njKyleht+glkcmXO0m9qLKt6BOS0amy6U2GlAwRn0Wx02ndJtnRCSC6kPuRWK/SQ
FEjB7gCK4hdKaAOuWdZpI55vF6ifOeM8toC3g7ofO8qLTnJupAG+ZitY5J3cvHWr
HqOUdKigPDHYLRo=
-----END CERTIFICATE-----
"""

_TOPIC_1 = "arn:aws:sns:us-east-2:295079676684:publish-and-verify-"
# FunctionalValidationsTest::getHttpFixtures, as published (UnsubscribeURL left out: not signed).
PUBLISHED = [
    {
        "Type": "Notification",
        "MessageId": "792cda85-518f-5dd3-9163-81d851212f3a",
        "TopicArn": _TOPIC_1 + "892f85fe-4836-424d-8188-ab85bef0f362",
        "Message": "Hello world",
        "Timestamp": "2022-07-28T21:23:58.317Z",
        "SignatureVersion": "1",
        "Signature": "ghtf+deOBAzHJJZ6s6CdRLfTQAlcGzq9naoFM1wi0CJiq//uVRuZnamrkWNF0fhouMFvuLVRwcz8PZLUMSfnmd5VpdTKpTyiKmy1qJAZXma0w+yi7G+I33hD1Jyk1Nbym2n0kqp3fVu2aoooiN2ZeLAT2bH0/BtjLSfN1yAOKNoprco4qV9gGUZinXJdj9a1YdNhDR2jKi33ldlsVtEXAtiaDklGEk7DgRKX38GerBPiLg3FdtgY6KC7cdeGpU/dGK+4hjc83Ive1HoFkAwqhpgInM2sMytBosoiXfCmOKmU4xeGD0gHDNZTlJUJQDlzw8Eag0H9f/5zXF9d3uy0YQ==",
        "SigningCertURL": CERT_URL,
    },
    {
        "Type": "Notification",
        "MessageId": "17dea24b-55c2-540b-8362-f916557af765",
        "TopicArn": _TOPIC_1 + "62674b1d-4295-426b-88e7-5fb75652a04e",
        "Message": "Hello world",
        "Timestamp": "2022-07-28T21:24:08.324Z",
        "SignatureVersion": "2",
        "Signature": "CXVqp9PfZAL+4JHS3Zxo1PFbQsvnOjvmYhtIf17TWpwc+iIVas8kZ8GopuzVzVMdatE7rCl/O4P91Zp05Dwz8lk8dLhfp8gSu3Njlzxlyrmzo9x3va3Jb7zFnedgS2GKnZWHGBdwTXho+TosNUE+3e10OMSlwN5XGDwX7+R3WL+rn+AXmFAqp3alg27sYa55h1dLE9cGszGPjScPdtF3BmZsUDMx9wSdNKsCk+vSvE8yBjnCmUl7laSFj3LzPVrlSwgNYCF3kYnNAkah7NplK4SFhJYLwS0HCVCQJKa8rVbQLf9cBTu60U402mrgy0bN8xWoyimzbYbrOMJjalqkUg==",
        "SigningCertURL": CERT_URL,
    },
    {
        "Type": "Notification",
        "MessageId": "11405cc3-9ac7-56d5-b45d-079e8f7a8edf",
        "TopicArn": _TOPIC_1 + "6e11fed2-fcdf-4c52-9dc4-36ef43f37f84",
        "Subject": "Hello world",
        "Message": "Hello world",
        "Timestamp": "2022-07-28T22:53:49.654Z",
        "SignatureVersion": "1",
        "Signature": "AItkS26d8yvnIKJevdirIPW7eM/yKbZy3/CF2EreCHmXWB3etWaV5Fb7SYpGABMpugpDZzNyGY1wCVWaopDoQ+7Q/kI2TpDu8bw1eExbi8U3kduvc/2m2fIrI4gDEY8/v3nzoLcr8pPodqMzrX6SzQou4klfaqbNK+rFmH0LVf2Q1VyOROODoSXmo4jg2Yu12jfxccBl96Drr/ihq4MJ4OcrWh6UzXXlVYjJHx2Ui4anNwNEb+Z4C2CAF1DjQUbhDtaoajDBPY+4d9C1OwbqwQpXsd6tyVcI9nFyEsVK8lfnAV+/3GZQcdXHbIUYBRGcBa4X5TlWJku5nDH2ERtHHw==",
        "SigningCertURL": CERT_URL,
    },
    {
        "Type": "Notification",
        "MessageId": "4504e649-d933-5aa9-8199-bd14ccf05f0b",
        "TopicArn": _TOPIC_1 + "530b26da-0687-4fe4-9f71-780bad3181e2",
        "Subject": "Hello world",
        "Message": "Hello world",
        "Timestamp": "2022-07-28T22:53:55.086Z",
        "SignatureVersion": "2",
        "Signature": "cETcSvmmkt+My05qCLKexyl0+RyG83mSryKPqTfS+tYcxDJWVcjPJAr+qdpElzVaBl1aTGYVWMY64i9JqZ/JES8pylNj8LGvdhuNQKO59/WCoIimZAsNhn0xEgOeeDU+W/0BU4sdpCGMNjo0S/FuIiWaRe4E0YWRVrxeQevaQ70euDdfWgd5v1eCKQz8b367b9XBmMztL/CWUFI6YaKK/MV21eyvJe3Y7CtVYiOKEYiAZnAEkynK7gUGO5TsgDjGNYhj6U3xYsWgI03bmioSl7kdFSUj+AZ7ugas5fghqxgoDsdfqsjMYKRm5KKHQWsgzI619yIzpNKUiSMHxdZXpQ==",
        "SigningCertURL": CERT_URL,
    },
]

# The SMS event of configuration-sets-event-format.html ("SMS example log").
SMS_EVENT = {
    "eventType": "TEXT_SUCCESSFUL",
    "eventVersion": "1.0",
    "eventTimestamp": 1686975103470,
    "isFinal": True,
    "originationPhoneNumber": "+12065550152",
    "destinationPhoneNumber": "+14255550156",
    "isInternationalSend": False,
    "mcc": "310",
    "mnc": "800",
    "messageId": "862a8790-60c0-4430-9b2b-658bdexample",
    "messageRequestTimestamp": 1686975103170,
    "messageEncoding": "GSM",
    "messageType": "PROMOTIONAL",
    "messageStatus": "SUCCESSFUL",
    "messageStatusDescription": "Message has been accepted by phone carrier",
    "totalMessageParts": 1,
    "totalMessagePrice": 0.09582,
    "totalCarrierFee": 0.0,
}

# MessageValidator::getStringToSign's $signableKeys, in its order.
SIGNABLE_KEYS = ("Message", "MessageId", "Subject", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def sdk_string_to_sign(message: dict[str, str]) -> bytes:
    """aws-php-sns-message-validator, src/MessageValidator.php, getStringToSign: for each
    signable key set in the message, "{key}\\n{value}\\n"; versions other than 1 and 2 are
    refused."""
    if message["SignatureVersion"] not in ("1", "2"):
        raise ValueError("unsupported SignatureVersion")
    return "".join(f"{key}\n{message[key]}\n" for key in SIGNABLE_KEYS if key in message).encode("utf-8")


def sdk_sign(message: dict[str, str], private_key: Any) -> str:
    """validate()'s algorithm choice: OPENSSL_ALGO_SHA1 for version "1", SHA256 otherwise;
    openssl_verify is PKCS#1 v1.5. Signed here with our test key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    digest = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()
    signature = private_key.sign(sdk_string_to_sign(message), padding.PKCS1v15(), digest)
    return base64.b64encode(signature).decode("ascii")


@pytest.fixture(scope="module")
def test_certificate() -> tuple[Any, str]:
    """An RSA key and a self-signed certificate for it, made here (the CN is SNS's)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def store_for(pem: str, url: str = CERT_URL) -> CertificateStore:
    return CertificateStore(StaticCertificates({url: pem}))


def notification(event: dict[str, Any], version: str, key: Any, **changes: str) -> dict[str, str]:
    message = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": json.dumps(event),
        "Timestamp": "2026-12-07T10:00:00.000Z",
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
        **changes,
    }
    message["Signature"] = sdk_sign(message, key)
    return message


def body_of(message: dict[str, str]) -> bytes:
    return json.dumps(message).encode("utf-8")


@pytest.mark.parametrize("index", range(len(PUBLISHED)))
def test_sns_signature_published_examples(index: int) -> None:
    """AWS's own signed messages (aws-php-sns-message-validator,
    tests/FunctionalValidationsTest.php, getHttpFixtures) verify with SNS's certificate:
    what stops them is only that "Hello world" is no SMS event (MalformedCallback, after
    verification). One changed byte of any signed member is a CallbackSignatureError."""
    message = PUBLISHED[index]
    store = store_for(SNS_CERTIFICATE)
    with pytest.raises(MalformedCallback, match="Message is not a JSON object"):
        aws.parse_sms_event(
            "POST", URL, {}, body_of(message), topic_arn=message["TopicArn"], certificates=store
        )
    for member in (
        "Message",
        "MessageId",
        "Timestamp",
        "TopicArn",
        "Type",
        *(("Subject",) if "Subject" in message else ()),
    ):
        forged = {**message, member: message[member] + "x"}
        with pytest.raises(CallbackSignatureError):
            aws.parse_sms_event(
                "POST", URL, {}, body_of(forged), topic_arn=forged["TopicArn"], certificates=store
            )


@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_signed_event_by_the_sdk_algorithm(version: str, test_certificate: tuple[Any, str]) -> None:
    """An SMS event signed as MessageValidator.php's getStringToSign + validate expect it
    (see the module docstring) becomes its receipt; a v1 signature claimed as v2 (or the
    reverse) does not verify."""
    key, pem = test_certificate
    message = notification(SMS_EVENT, version, key)
    [receipt] = aws.parse_sms_event(
        "POST", URL, {}, body_of(message), topic_arn=TOPIC, certificates=store_for(pem)
    )
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.message_id == "862a8790-60c0-4430-9b2b-658bdexample"
    assert receipt.recipient == "+14255550156"
    assert receipt.error_description == "Message has been accepted by phone carrier"
    assert receipt.details["is_final"] is True
    assert receipt.completed_at == datetime.datetime(
        2023, 6, 17, 4, 11, 43, 470000, tzinfo=datetime.timezone.utc
    )
    swapped = {**message, "SignatureVersion": "2" if version == "1" else "1"}
    with pytest.raises(CallbackSignatureError, match="does not verify"):
        aws.parse_sms_event("POST", URL, {}, body_of(swapped), topic_arn=TOPIC, certificates=store_for(pem))


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",  # the pattern is anchored
        "https://evil.example/sns.us-east-1.amazonaws.com/cert.pem",
        "http://sns.us-east-1.amazonaws.com/cert.pem",  # https only
        "https://s3.amazonaws.com/bucket/cert.pem",  # amazonaws.com, not SNS (an S3 bucket)
        "https://sns.us-east-1.amazonaws.com/cert.txt",  # not .pem
        "https://sns.us-east-1.amazonaws.com:8443/cert.pem",  # another port
        "https://user@sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.x.amazonaws.com/cert.pem",  # the region is 3 characters or more
    ],
)
def test_forged_certificate_hosts_are_refused_without_a_fetch(
    cert_url: str, test_certificate: tuple[Any, str]
) -> None:
    """MessageValidator::validateUrl: https, host matching /^sns\\.[a-zA-Z0-9\\-]{3,}\\.amazonaws\\.com(\\.cn)?$/,
    ending in .pem; a forged URL is refused before anything is fetched (even when the
    forger's certificate matches its signature)."""
    key, pem = test_certificate
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return pem.encode("ascii")

    message = notification(SMS_EVENT, "2", key, SigningCertURL=cert_url)
    with pytest.raises(CallbackSignatureError, match="SigningCertURL"):
        aws.parse_sms_event(
            "POST", URL, {}, body_of(message), topic_arn=TOPIC, certificates=CertificateStore(fetch)
        )
    assert fetched == []


def test_china_regions_and_the_cache(test_certificate: tuple[Any, str]) -> None:
    """An .amazonaws.com.cn certificate URL is allowed; a certificate is fetched once and
    then served from the cache."""
    key, pem = test_certificate
    china = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem"
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return pem.encode("ascii")

    store = CertificateStore(fetch)
    for message_id in ("m1", "m2", "m3"):
        message = notification(SMS_EVENT, "2", key, SigningCertURL=china, MessageId=message_id)
        aws.parse_sms_event("POST", URL, {}, body_of(message), topic_arn=TOPIC, certificates=store)
    assert fetched == [china]


@pytest.mark.parametrize("version", ["3", "", "01"])
def test_other_signature_versions_are_refused(version: str, test_certificate: tuple[Any, str]) -> None:
    key, pem = test_certificate
    message = notification(SMS_EVENT, "2", key)
    message["SignatureVersion"] = version
    with pytest.raises(CallbackSignatureError, match="SignatureVersion"):
        aws.parse_sms_event("POST", URL, {}, body_of(message), topic_arn=TOPIC, certificates=store_for(pem))


def test_another_topic_is_refused(test_certificate: tuple[Any, str]) -> None:
    """A validly signed message from another topic (anyone can subscribe your URL to theirs)."""
    key, pem = test_certificate
    message = notification(SMS_EVENT, "2", key, TopicArn="arn:aws:sns:us-east-1:999999999999:theirs")
    with pytest.raises(CallbackSignatureError, match="TopicArn"):
        aws.parse_sms_event("POST", URL, {}, body_of(message), topic_arn=TOPIC, certificates=store_for(pem))


def test_an_unfetchable_certificate_is_a_refusal() -> None:
    def fetch(url: str) -> bytes:
        raise CertificateError("down")

    message = {**PUBLISHED[1], "TopicArn": TOPIC}
    with pytest.raises(CallbackSignatureError, match="down"):
        aws.parse_sms_event(
            "POST", URL, {}, body_of(message), topic_arn=TOPIC, certificates=CertificateStore(fetch)
        )


def confirmation(key: Any, subscribe_url: str, kind: str = "SubscriptionConfirmation") -> dict[str, str]:
    message = {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2026-12-07T10:00:00.000Z",
        "SignatureVersion": "1",
        "SigningCertURL": CERT_URL,
    }
    message["Signature"] = sdk_sign(message, key)
    return message


SUBSCRIBE = (
    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC + "&Token=2336"
)


def test_subscription_confirmation_is_a_verified_handshake(test_certificate: tuple[Any, str]) -> None:
    """SubscriptionConfirmation (signed with SubscribeURL and Token in the string to sign) is
    verified, then raised as a HandshakePush carrying the URL to fetch; a SubscribeURL on
    another host is refused; an UnsubscribeConfirmation is acknowledged, nothing fetched."""
    key, pem = test_certificate
    with pytest.raises(HandshakePush) as raised:
        aws.parse_sms_event(
            "POST",
            URL,
            {},
            body_of(confirmation(key, SUBSCRIBE)),
            topic_arn=TOPIC,
            certificates=store_for(pem),
        )
    assert raised.value.handshake == "subscription_confirmation"
    assert raised.value.confirm_url == SUBSCRIBE
    assert raised.value.answer.status == 200
    forged = confirmation(key, "https://evil.example/?Action=ConfirmSubscription")
    with pytest.raises(CallbackSignatureError, match="SubscribeURL"):
        aws.parse_sms_event("POST", URL, {}, body_of(forged), topic_arn=TOPIC, certificates=store_for(pem))
    tampered = {**confirmation(key, SUBSCRIBE), "Token": "other"}
    with pytest.raises(CallbackSignatureError, match="does not verify"):
        aws.parse_sms_event("POST", URL, {}, body_of(tampered), topic_arn=TOPIC, certificates=store_for(pem))
    with pytest.raises(HandshakePush) as unsubscribed:
        aws.parse_sms_event(
            "POST",
            URL,
            {},
            body_of(confirmation(key, SUBSCRIBE, "UnsubscribeConfirmation")),
            topic_arn=TOPIC,
            certificates=store_for(pem),
        )
    assert (
        unsubscribed.value.handshake == "unsubscribe_confirmation" and unsubscribed.value.confirm_url is None
    )


def asgi_post(
    app: CallbackApp, path: str, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://hooks.example.com") as client:
            return await client.post(path, content=body, headers=headers or {})

    return asyncio.run(call())


def test_callback_app_confirms_and_receives(test_certificate: tuple[Any, str]) -> None:
    """CallbackApp confirms a verified subscription by fetching its SubscribeURL (through
    confirm=), answers 200, then hands the events' receipts over; a failed confirmation is
    answered 500 (SNS asks again)."""
    key, pem = test_certificate
    confirmed: list[str] = []
    got: list[Any] = []
    endpoint = aws.sms_event_endpoint(topic_arn=TOPIC, certificates=store_for(pem))
    app = CallbackApp(
        {"aws": endpoint}, lambda name, receipts: got.extend(receipts), confirm=confirmed.append
    )
    answer = asgi_post(app, "/callbacks/aws", body_of(confirmation(key, SUBSCRIBE)))
    assert (answer.status_code, confirmed, got) == (200, [SUBSCRIBE], [])
    answer = asgi_post(
        app, "/callbacks/aws", body_of(notification({**SMS_EVENT, "eventType": "TEXT_DELIVERED"}, "2", key))
    )
    assert answer.status_code == 200 and [r.status for r in got] == [DeliveryStatus.DELIVERED]

    def broken(url: str) -> None:
        raise RuntimeError("unreachable")

    failing = CallbackApp({"aws": endpoint}, lambda name, receipts: None, confirm=broken)
    assert asgi_post(failing, "/callbacks/aws", body_of(confirmation(key, SUBSCRIBE))).status_code == 500


def pushed_to(app: CallbackApp) -> httpx.Client:
    """A client whose requests reach ``app`` in process (the push module's sync client)."""

    def handler(request: httpx.Request) -> httpx.Response:
        answer = asgi_post(app, request.url.raw_path.decode("ascii"), request.content, dict(request.headers))
        return httpx.Response(answer.status_code, content=answer.content)

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_mock_push_signs_events_and_handshakes(test_certificate: tuple[Any, str]) -> None:
    """``dlr_core.push`` (what ``dlrgen mock --push`` runs) signs SNS messages in their body
    with the certificate's key it is handed: the receiver, given that certificate for the
    URL the payload names, accepts the events, confirms the handshake and refuses a
    tampered push."""
    key, pem = test_certificate
    from cryptography.hazmat.primitives import serialization

    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    envelope = {
        "Type": "Notification",
        "MessageId": "m1",
        "TopicArn": TOPIC,
        "Timestamp": "2026-12-07T10:00:00Z",
        "SigningCertURL": CERT_URL,
    }
    steps = read_scenario(
        {"sms_event": aws.SMS_EVENT},
        {
            "sms_event": [
                {
                    "handshake": "subscription_confirmation",
                    "payload": {**envelope, "Message": "confirm", "SubscribeURL": SUBSCRIBE, "Token": "t"},
                },
                {"payload": {**envelope, "Message": SMS_EVENT}},
                {"payload": {**envelope, "Message": {**SMS_EVENT, "eventType": "TEXT_SPAM"}}, "tamper": True},
            ]
        },
    )
    confirmed: list[str] = []
    got: list[Any] = []
    app = CallbackApp(
        {"aws": aws.sms_event_endpoint(topic_arn=TOPIC, certificates=store_for(pem))},
        lambda name, receipts: got.extend(receipts),
        confirm=confirmed.append,
    )
    results = push(
        {"sms_event": aws.SMS_EVENT},
        steps,
        "https://hooks.example.com/callbacks/aws",
        credentials={"topic_arn": TOPIC},
        certificate_keys={CERT_URL: private_pem},
        http_client=pushed_to(app),
    )
    assert [(r.handshake, r.status) for r in results] == [
        ("subscription_confirmation", 200),
        (None, 200),
        (None, 403),
    ]
    assert confirmed == [SUBSCRIBE]
    assert [r.status for r in got] == [DeliveryStatus.SENT]


def test_every_documented_event_type_has_its_canonical_status(test_certificate: tuple[Any, str]) -> None:
    """The 14 TEXT_* event types of configuration-sets-event-types.html, each as pushed."""
    key, pem = test_certificate
    expected = {
        "TEXT_DELIVERED": DeliveryStatus.DELIVERED,
        "TEXT_SUCCESSFUL": DeliveryStatus.SENT,
        "TEXT_QUEUED": DeliveryStatus.QUEUED,
        "TEXT_PENDING": DeliveryStatus.SENDING,
        "TEXT_BLOCKED": DeliveryStatus.UNDELIVERED,
        "TEXT_TTL_EXPIRED": DeliveryStatus.EXPIRED,
        "TEXT_CARRIER_UNREACHABLE": DeliveryStatus.UNDELIVERED,
        "TEXT_INVALID": DeliveryStatus.FAILED,
        "TEXT_INVALID_MESSAGE": DeliveryStatus.FAILED,
        "TEXT_CARRIER_BLOCKED": DeliveryStatus.UNDELIVERED,
        "TEXT_UNREACHABLE": DeliveryStatus.UNDELIVERED,
        "TEXT_SPAM": DeliveryStatus.UNDELIVERED,
        "TEXT_UNKNOWN": DeliveryStatus.UNKNOWN,
        "TEXT_PROTECT_BLOCKED": DeliveryStatus.REJECTED,
    }
    store = store_for(pem)
    for event_type, status in expected.items():
        message = notification({**SMS_EVENT, "eventType": event_type}, "2", key)
        [receipt] = aws.parse_sms_event(
            "POST", URL, {}, body_of(message), topic_arn=TOPIC, certificates=store
        )
        assert receipt.status is status, event_type
