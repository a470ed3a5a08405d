#!/usr/bin/env python3
"""Mock Tencent Cloud Face Recognition (IAI) API 3.0 server for the extension's tests.

It is the independent peer the C client is tested against: every request's
TC3-HMAC-SHA256 signature is re-verified with the implementation below, the
actions the tests use (DeletePersonFromGroup, CreateGroup, CreatePerson,
GetPersonGroupInfo; version 2018-03-01) run against real in-memory state, and
transport faults can be queued.  Standard library only; certificates are made
with the openssl command line.

Usage:
    python3 test/mock_iai.py --dir DIR [--host 127.0.0.1] [--http-port 58080]
                             [--https-port 58443] [--wronghost-port 58444]
                             [--group ID=P1,P2 ...]
    python3 test/mock_iai.py --self-test test/tc3-vectors.json test/tc3-doc-examples.json

Serving: three listeners share one state: plain HTTP; HTTPS with a certificate
for 127.0.0.1 and localhost; HTTPS with a certificate from the same CA naming
only wrong-host.invalid (host name verification must fail there).  DIR gets
ca.pem (what clients trust), ca.key, server.pem/.key and wronghost.pem/.key
(made once, reused), then mock.pid and, when every listener is up, an empty
file "ready".  SIGTERM or SIGINT stops the mock with exit status 0.

API: POST / answers as the real service does (HTTP 200, failures in
Response.Error).  The n-th API request since the last reset, counting rejected
and faulted ones, gets RequestId 00000000-0000-4000-8000-<n in 12 digits>.

Control endpoints (any method, any listener, query arguments only, one-line JSON):
    /_mock/reset                          clear log, faults, state, counter, config
    /_mock/group?id=G[&persons=a,b]       create group G if absent, add persons
    /_mock/state                          {"groups":{G:[persons...]}}
    /_mock/log[?since=N]                  logged API requests with seq > N
    /_mock/count[?verdict=V][&action=A]   number of matching logged requests
    /_mock/credential?id=I&key=K[&token=T]  add a credential (kept across resets)
    /_mock/role?name=R&id=I&key=K&token=T[&expires_in=S][&code=C][&answer=A]
               [&bind=0|1][&delay_ms=D][&revoke=OLD_ID]
                                          the CVM metadata service serves role R's
                                          credentials (also added, valid for S s)
    /_mock/role?unbind=1                  no role bound: the role list answers 404
    /_mock/metadata                       {"requests":N,"list":N,"credentials":N,"paths":[...]}
    /_mock/sts?provider=P&role_arn=A&web_token=W&id=I&key=K&token=T[&expires_in=S]
              [&error=CODE][&answer=A][&delay_ms=D]
                                          what STS AssumeRoleWithWebIdentity answers
    /_mock/fault?kind=K[&count=N]...      queue a fault for the next N API requests
    /_mock/clear_faults                   drop every queued fault
    /_mock/config?[rate_limit=N][&clock_skew=S][&delay_ms=D]

delay_ms delays every API answer by D ms (a wide-area round trip; requests are
served concurrently, one thread per connection).  As the service does, an
API request naming a PersonId that another request still being processed
names is answered FailedOperation.ConflictOperation.

CVM metadata service: GET /latest/meta-data/cam/security-credentials/ names the
bound role, GET .../security-credentials/R answers {"TmpSecretId", "TmpSecretKey",
"Token", "ExpiredTime", "Expiration", "Code"} (answer=malformed: a cut-off body;
answer=escaped: a "Description" escaped beyond ASCII and Latin-1).
STS: a POST / with X-TC-Action AssumeRoleWithWebIdentity (version 2018-08-13)
must carry "Authorization: SKIP", X-TC-Region and the configured ProviderId,
RoleArn and WebIdentityToken; it answers Response.Credentials and ExpiredTime.
Temporary credentials are refused (AuthFailure.TokenFailure) once expired.

Fault kinds: delay(ms) status(status) error(code, message) throttle drop
drop_after hang malformed empty no_request_id oversized(size) trickle(ms),
text(message): a successful answer with Response.Text = message, and
tamper_body / tamper_content_type / tamper_host, which alter the request
as received (as an on-path attacker would) before it is verified.  With
escape=1, error and text answers write every non-ASCII character of the
message as a JSON \\u escape (surrogate pairs beyond the BMP); otherwise as
raw UTF-8.

--self-test runs the same signature code over the signing vectors and prints
"ok <id>" or "FAIL <id>: ..." per case, then "N passed, M failed".
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

API_VERSION = "2018-03-01"
SERVICE = "iai"
ALGORITHM = "TC3-HMAC-SHA256"
TIMESTAMP_WINDOW = 300              # seconds a timestamp may be off the clock
MAX_BODY = 10 * 1024 * 1024         # the service's request size limit
IDLE_TIMEOUT = 60                   # the real servers drop idle keep-alive connections after ~60 s
HANDSHAKE_TIMEOUT = 30
HANG_SECONDS = 600
JSON_TYPE = "application/json"
CONTROL_PREFIX = "/_mock/"
METADATA_PREFIX = "/latest/meta-data/"

BUILTIN_CREDENTIALS = {
    # SecretId: (SecretKey, session token, or None for a long-term key)
    "AKIDmockPermanentKey000000000000000001": ("mockPermanentSecretKey00000000001", None),
    "AKIDmockTemporaryKey000000000000000002": ("mockTemporarySecretKey00000000002",
                                               "mock-session-token-0002"),
    "AKIDiaiAcceptanceEXAMPLE0000000000000": ("iaiAcceptanceSecretKeyEXAMPLE000", None),
}

# Network errors that only mean the client went away: never worth a traceback.
QUIET_ERRORS = (OSError,)


# --------------------------------------------------------------------------
# TC3-HMAC-SHA256: used by the server's verifier and by --self-test alike.
# --------------------------------------------------------------------------

def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc_date(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, service: str) -> bytes:
    # Intermediate keys are raw digests, never hex or C strings.
    return _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")


def canonical_request(headers: dict[str, str], signed: list[str],
                      payload_hash: str, query: str = "") -> str:
    """headers maps lowercased name -> value as sent; signed lists the names, in order."""
    canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed)
    return "\n".join(("POST", "/", query, canonical_headers, ";".join(signed), payload_hash))


class Tc3(NamedTuple):
    payload_hash: str
    canonical_request: str
    canonical_hash: str
    string_to_sign: str
    signing_key: bytes
    signature: str


def compute_tc3(secret_key: str, timestamp: str, service: str, headers: dict[str, str],
                signed: list[str], body: bytes, query: str = "") -> Tc3:
    date = utc_date(int(timestamp))
    payload_hash = sha256_hex(body)
    canon = canonical_request(headers, signed, payload_hash, query)
    # surrogateescape gives back the exact bytes of non-UTF-8 header values.
    canon_hash = sha256_hex(canon.encode("utf-8", "surrogateescape"))
    to_sign = f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{canon_hash}"
    key = signing_key(secret_key, date, service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return Tc3(payload_hash, canon, canon_hash, to_sign, key, signature)


class Authorization(NamedTuple):
    secret_id: str
    date: str
    service: str
    signed_headers: list[str]
    signature: str


AUTHORIZATION_RE = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/\s,]+)/(?P<date>[^/\s,]+)/(?P<service>[^/\s,]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[^\s,]+), Signature=(?P<sig>[0-9a-fA-F]{64})")


def parse_authorization(value: str) -> Authorization | None:
    match = AUTHORIZATION_RE.fullmatch(value.strip())
    if match is None:
        return None
    return Authorization(match["id"], match["date"], match["service"],
                         match["signed"].split(";"), match["sig"])


def format_authorization(secret_id: str, date: str, service: str,
                         signed: list[str], signature: str) -> str:
    return (f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
            f"SignedHeaders={';'.join(signed)}, Signature={signature}")


def verify_tc3(auth: Authorization, headers: dict[str, list[str]], body: bytes,
               timestamp: str, secret_key: str, service: str = SERVICE,
               query: str = "") -> str | None:
    """Check a signature against a request as received.

    headers maps lowercased names to every value received.  Returns None when
    the signature is right, otherwise why it is not.
    """
    if auth.service != service:
        return f"credential scope service is {auth.service!r}, expected {service!r}"
    if auth.date != utc_date(int(timestamp)):
        return f"credential scope date {auth.date} is not the UTC date of {timestamp}"
    signed = auth.signed_headers
    if signed != sorted(set(signed)) or any(name != name.lower() for name in signed):
        return "SignedHeaders must be lowercase, sorted and without duplicates"
    for required in ("content-type", "host"):
        if required not in signed:
            return f"SignedHeaders lacks {required}"
    values = {}
    for name in signed:
        received = headers.get(name, [])
        if len(received) != 1:
            return f"signed header {name!r} was received {len(received)} times"
        values[name] = received[0]
    calc = compute_tc3(secret_key, timestamp, service, values, signed, body, query)
    if not hmac.compare_digest(calc.signature, auth.signature):
        return f"signature mismatch; canonical request here is {calc.canonical_request!r}"
    return None


# --------------------------------------------------------------------------
# API errors and messages
# --------------------------------------------------------------------------

# (zh-CN, en-US) templates; "Code:variant" keys refine a code's message.
MESSAGES = {
    "InvalidParameter": ("参数错误。", "Invalid parameter."),
    "InvalidParameter:content_type": ("Content-Type 必须为 application/json。",
                                      "Content-Type must be application/json."),
    "InvalidParameter:not_json": ("请求体不是合法的 JSON 对象。",
                                  "The request body is not a valid JSON object."),
    "InvalidParameter:not_string": ("参数 {name} 必须是字符串。",
                                    "The parameter {name} must be a string."),
    "MissingParameter": ("缺少参数错误：缺少必选参数 {name}。",
                         "The request is missing a required parameter: {name}."),
    "NoSuchVersion": ("接口版本不存在。", "The API version does not exist."),
    "InvalidAction": ("接口不存在。", "The API action does not exist."),
    "AuthFailure.SignatureExpire": (
        "签名过期。Timestamp 和服务器时间相差不得超过五分钟，请检查本地时间是否和标准时间同步。",
        "Signature expired. Timestamp must be within five minutes of the server time."),
    "AuthFailure.InvalidAuthorization": ("请求头部的 Authorization 不符合腾讯云标准。",
                                         "The Authorization header is invalid."),
    "AuthFailure.SecretIdNotFound": (
        "密钥不存在。请检查密钥是否填写正确，注意前后不得有空格。",
        "The SecretId was not found. Check it is correct and has no surrounding spaces."),
    "AuthFailure.SignatureFailure": (
        "签名错误。签名计算错误，请对照调用方式中的签名方法文档检查签名计算过程。",
        "The provided credentials could not be validated. Please check your signature is correct."),
    "AuthFailure.TokenFailure": ("token 错误。", "The token is invalid."),
    "RequestLimitExceeded": ("请求的次数超过了频率限制。",
                             "The request rate exceeds the limit; please try again later."),
    "RequestSizeLimitExceeded": ("请求包超过限制大小。", "The request exceeds the size limit."),
    "InternalError": ("内部错误。", "Internal error."),
    "FailedOperation.ServerError": ("算法服务异常，请重试。", "Algorithm service error, please retry."),
    "FailedOperation.RequestTimeout": ("后端服务超时。", "The backend service timed out."),
    "FailedOperation.ConflictOperation": ("操作冲突，请勿同时操作相同的Person。",
                                          "Conflicting operation: do not operate on the same person concurrently."),
    "FailedOperation.GroupPersonMapNotExist": ("组中不包含对应的人员Id。",
                                               "The group does not contain this PersonId."),
    "InvalidParameterValue.GroupIdAlreadyExist": ("人员库ID已经存在。人员库ID不可重复。",
                                                  "The GroupId already exists."),
    "InvalidParameterValue.GroupIdIllegal": (
        "人员库ID包含非法字符。人员库ID只支持英文、数字、-%@#&_。",
        "The GroupId contains illegal characters; only letters, digits and -%@#&_ are allowed."),
    "InvalidParameterValue.GroupIdNotExist": ("人员库ID不存在。", "The GroupId does not exist."),
    "InvalidParameterValue.GroupIdTooLong": ("人员库ID超出长度限制。", "The GroupId is too long."),
    "InvalidParameterValue.PersonIdAlreadyExist": ("人员ID已经存在。人员ID不可重复。",
                                                   "The PersonId already exists."),
    "InvalidParameterValue.PersonIdIllegal": (
        "人员ID包含非法字符。人员ID只支持英文、数字、-%@#&_。",
        "The PersonId contains illegal characters; only letters, digits and -%@#&_ are allowed."),
    "InvalidParameterValue.PersonIdNotExist": ("人员ID不存在。", "The PersonId does not exist."),
    "InvalidParameterValue.PersonIdTooLong": ("人员ID超出长度限制。", "The PersonId is too long."),
    "ResourceUnavailable.InArrears": ("帐号已欠费。", "The account is in arrears."),
}


class ApiError(Exception):
    """A failure the service reports in Response.Error (HTTP 200)."""

    def __init__(self, code: str, variant: str | None = None, detail: str | None = None, **fmt):
        super().__init__(code)
        self.code, self.variant, self.detail, self.fmt = code, variant, detail, fmt

    def message(self, lang: str) -> str:
        key = f"{self.code}:{self.variant}" if self.variant else self.code
        templates = MESSAGES.get(key) or MESSAGES.get(self.code) or (self.code, self.code)
        # an injected error has no parameter name to fill in
        return templates[1 if lang == "en" else 0].format_map(_Fallback(self.fmt))


class _Fallback(dict):
    def __missing__(self, key):
        return "<" + key + ">"


ID_RE = re.compile(r"[A-Za-z0-9%@#&_-]+")


def require_params(params: dict, names: tuple[str, ...]) -> list[str]:
    for name in names:
        if params.get(name) in (None, ""):
            raise ApiError("MissingParameter", name=name)
        if not isinstance(params[name], str):
            raise ApiError("InvalidParameter", "not_string", name=name)
    return [params[name] for name in names]


def check_id(value: str, kind: str) -> None:
    """kind is "PersonId" or "GroupId"; the limit is 64 bytes, not characters."""
    if len(value.encode("utf-8", "surrogatepass")) > 64:
        raise ApiError(f"InvalidParameterValue.{kind}TooLong")
    if not ID_RE.fullmatch(value):
        raise ApiError(f"InvalidParameterValue.{kind}Illegal")


def request_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


# --------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------

class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes
    verdict: str
    request_id: str | None
    detail: str | None = None


def json_bytes(obj, ascii_only: bool = False) -> bytes:
    return json.dumps(obj, ensure_ascii=ascii_only, separators=(",", ":")).encode()


def api_success(result: dict, rid: str, ascii_only: bool = False) -> Reply:
    return Reply(200, JSON_TYPE, json_bytes({"Response": {**result, "RequestId": rid}}, ascii_only),
                 "OK", rid)


def api_error(code: str, message: str, rid: str, detail: str | None = None,
              ascii_only: bool = False) -> Reply:
    body = {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": rid}}
    return Reply(200, JSON_TYPE, json_bytes(body, ascii_only), code, rid, detail)


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, "text/plain; charset=utf-8", (text + "\n").encode(), f"HTTP {status}", None)


def oversized_parts(rid: str) -> tuple[bytes, bytes]:
    """What surrounds the padding of an oversized reply."""
    return b'{"Response":{"RequestId":"' + rid.encode() + b'","Pad":"', b'"}}'


OVERSIZED_MIN = sum(map(len, oversized_parts(request_id(0))))


# --------------------------------------------------------------------------
# Requests, faults and the shared state
# --------------------------------------------------------------------------

def wire_text(value: str) -> str:
    # http.server decodes header bytes as Latin-1; recover the bytes as sent.
    return value.encode("latin-1").decode("utf-8", "surrogateescape")


@dataclass
class ApiRequest:
    listener: str
    method: str
    raw_path: str
    path: str
    query: str
    headers: dict[str, list[str]]   # lowercased name -> every value as received
    body: bytes
    complete: bool                  # False when the body was too large to read
    params: dict | None = None      # the body parsed as a JSON object, if it is one

    def __post_init__(self):
        try:
            parsed = json.loads(self.body.decode("utf-8"))
        except ValueError:
            parsed = None
        self.params = parsed if isinstance(parsed, dict) else None

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0].strip() if values else None

    @property
    def language(self) -> str:
        return "en" if self.header("x-tc-language") == "en-US" else "zh"

    def log_entry(self, arrived: float) -> dict:
        params = self.params or {}

        def text(value):
            return value if isinstance(value, str) else None

        return {
            "seq": None, "t": arrived, "listener": self.listener, "method": self.method,
            "path": self.raw_path, "action": self.header("x-tc-action"),
            "headers": {name: ", ".join(values) for name, values in self.headers.items()},
            "body": self.body.decode("utf-8", "replace"),
            "verdict": None, "request_id": None, "fault": None,
            "person": text(params.get("PersonId")), "group": text(params.get("GroupId")),
            "detail": None,
        }


TAMPER_FAULTS = {"tamper_body", "tamper_content_type", "tamper_host"}
FAULT_KINDS = {"delay", "status", "error", "throttle", "drop", "drop_after", "hang", "text",
               "malformed", "empty", "no_request_id", "oversized", "trickle"} | TAMPER_FAULTS
# the request still takes effect (tampered ones only if the signature allowed it)
PROCESSED_FAULTS = {"delay", "drop_after", "trickle"} | TAMPER_FAULTS


def tamper(req: ApiRequest, kind: str) -> ApiRequest:
    """What an on-path attacker might change in transit; the signature must catch it."""
    headers = {name: list(values) for name, values in req.headers.items()}
    body = req.body
    if kind == "tamper_body":
        # still valid JSON, still a well-formed id: only the signature can tell
        body = body.replace(b'"PersonId": "', b'"PersonId": "X', 1)
    elif kind == "tamper_content_type":
        headers["content-type"] = ["application/json"]
    elif kind == "tamper_host":
        headers["host"] = ["iai.tencentcloudapi.com"]
    return ApiRequest(req.listener, req.method, req.raw_path, req.path, req.query,
                      headers, body, req.complete)


@dataclass
class Fault:
    kind: str
    remaining: int
    ms: int = 0
    status: int = 503
    code: str = ""
    message: str | None = None
    size: int = 2 * 1024 * 1024
    escape: bool = False


class Admission(NamedTuple):
    seq: int
    fault: Fault | None
    over_rate: bool
    clock_skew: float
    delay_ms: int


class MockIai:
    """What every listener shares: credentials, groups, log, faults, config.

    One lock guards it all; it is only held for bookkeeping, never while
    sleeping or doing I/O.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.credentials = dict(BUILTIN_CREDENTIALS)
        self.expiry: dict[str, float] = {}     # SecretId -> Unix time it expires
        self._clear()

    def _clear(self):
        self.groups: dict[str, set[str]] = {}
        self.log: list[dict] = []
        self.faults: deque[Fault] = deque()
        self.counter = 0
        self.rate_limit = 0
        self.clock_skew = 0.0
        self.delay_ms = 0
        self.busy_persons: set[str] = set()
        self.arrivals: deque[float] = deque()
        self.roles: dict[str, dict] = {}       # the metadata service's roles
        self.bound_role: str | None = None
        self.metadata_paths: list[str] = []
        self.sts: dict | None = None

    # -- bookkeeping -------------------------------------------------------

    def reset(self):
        with self.lock:
            self._clear()

    def admit(self, entry: dict, now: float) -> Admission:
        """Number and log a new API request; take its fault and rate verdict."""
        with self.lock:
            self.counter += 1
            entry["seq"] = self.counter
            self.log.append(entry)
            fault = None
            if self.faults:
                fault = self.faults[0]
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.popleft()
                entry["fault"] = fault.kind
            self.arrivals.append(now)
            while self.arrivals[0] <= now - 1.0:
                self.arrivals.popleft()
            over_rate = 0 < self.rate_limit < len(self.arrivals)
            return Admission(self.counter, fault, over_rate, self.clock_skew, self.delay_ms)

    def claim_person(self, person: str | None) -> bool:
        """Mark person as being operated on; False if it already is."""
        if person is None:
            return True
        with self.lock:
            if person in self.busy_persons:
                return False
            self.busy_persons.add(person)
            return True

    def release_person(self, person: str | None) -> None:
        if person is not None:
            with self.lock:
                self.busy_persons.discard(person)

    def finish(self, entry: dict, verdict: str, rid: str | None, detail: str | None = None):
        with self.lock:
            entry.update(verdict=verdict, request_id=rid, detail=detail)

    def queue_fault(self, fault: Fault) -> int:
        with self.lock:
            self.faults.append(fault)
            return sum(f.remaining for f in self.faults)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def configure(self, rate_limit: int | None, clock_skew: float | None, delay_ms: int | None):
        with self.lock:
            if rate_limit is not None:
                self.rate_limit = rate_limit
            if delay_ms is not None:
                self.delay_ms = delay_ms
            if clock_skew is not None:
                self.clock_skew = clock_skew

    def add_credential(self, secret_id: str, secret_key: str, token: str | None,
                       expires: float | None = None):
        with self.lock:
            self.credentials[secret_id] = (secret_key, token)
            if expires is None:
                self.expiry.pop(secret_id, None)
            else:
                self.expiry[secret_id] = expires

    def revoke_credential(self, secret_id: str):
        with self.lock:
            self.credentials.pop(secret_id, None)

    def add_group(self, group: str, persons: list[str]):
        with self.lock:
            self.groups.setdefault(group, set()).update(persons)

    def snapshot(self) -> dict[str, list[str]]:
        with self.lock:
            return {group: sorted(members) for group, members in sorted(self.groups.items())}

    def log_since(self, since: int) -> list[dict]:
        with self.lock:
            return [dict(entry) for entry in self.log if entry["seq"] > since]

    def count(self, verdict: str | None, action: str | None) -> int:
        with self.lock:
            return sum(1 for entry in self.log
                       if verdict in (None, entry["verdict"]) and action in (None, entry["action"]))

    # -- the API -----------------------------------------------------------

    def process(self, req: ApiRequest, rid: str, over_rate: bool, clock_skew: float) -> Reply:
        """Answer an API request as the service would (everything after faults)."""
        if req.path not in ("", "/"):
            return text_reply(404, "not found")
        if req.method != "POST":
            return text_reply(405, "method not allowed: the API takes POST only")
        if req.header("x-tc-action") == "AssumeRoleWithWebIdentity":
            return self.sts_answer(req, rid)
        try:
            self._authenticate(req, over_rate, clock_skew)
            action = req.header("x-tc-action")
            handler = self.ACTIONS.get(action)
            if handler is None:
                raise ApiError("InvalidAction")
            result = handler(self, req.params)
        except ApiError as err:
            return api_error(err.code, err.message(req.language), rid, err.detail)
        return api_success(result, rid)

    def _authenticate(self, req: ApiRequest, over_rate: bool, clock_skew: float) -> None:
        if over_rate:
            raise ApiError("RequestLimitExceeded")
        if not req.complete:
            raise ApiError("RequestSizeLimitExceeded")
        content_type = req.header("content-type")
        if not content_type or not content_type.lower().startswith("application/json"):
            raise ApiError("InvalidParameter", "content_type")
        if req.params is None:
            raise ApiError("InvalidParameter", "not_json")
        for name in ("Authorization", "X-TC-Timestamp", "X-TC-Action", "X-TC-Version"):
            if not req.header(name.lower()):
                raise ApiError("MissingParameter", name=name)
        if req.header("x-tc-version") != API_VERSION:
            raise ApiError("NoSuchVersion")
        timestamp = req.header("x-tc-timestamp")
        if not (timestamp.isascii() and timestamp.isdigit()) or \
                abs(int(timestamp) - (time.time() + clock_skew)) > TIMESTAMP_WINDOW:
            raise ApiError("AuthFailure.SignatureExpire", detail=f"timestamp {timestamp!r}")
        auth = parse_authorization(req.header("authorization"))
        if auth is None:
            raise ApiError("AuthFailure.InvalidAuthorization")
        with self.lock:
            credential = self.credentials.get(auth.secret_id)
            expires = self.expiry.get(auth.secret_id)
        if credential is None:
            raise ApiError("AuthFailure.SecretIdNotFound", detail=f"SecretId {auth.secret_id!r}")
        secret_key, token = credential
        problem = verify_tc3(auth, req.headers, req.body, timestamp, secret_key, SERVICE, req.query)
        if problem:
            raise ApiError("AuthFailure.SignatureFailure", detail=problem)
        sent_token = req.header("x-tc-token")
        if token is None and sent_token is not None:
            raise ApiError("AuthFailure.TokenFailure", detail="X-TC-Token sent with a long-term key")
        if token is not None and sent_token != token:
            raise ApiError("AuthFailure.TokenFailure", detail="X-TC-Token missing or wrong")
        if expires is not None and time.time() >= expires:
            raise ApiError("AuthFailure.TokenFailure", detail="temporary credentials expired")

    def _person_exists(self, person: str) -> bool:
        return any(person in members for members in self.groups.values())

    def delete_person_from_group(self, params: dict) -> dict:
        person, group = require_params(params, ("PersonId", "GroupId"))
        check_id(person, "PersonId")
        check_id(group, "GroupId")
        with self.lock:
            members = self.groups.get(group)
            if members is None:
                raise ApiError("InvalidParameterValue.GroupIdNotExist")
            if not self._person_exists(person):
                raise ApiError("InvalidParameterValue.PersonIdNotExist")
            if person not in members:
                raise ApiError("FailedOperation.GroupPersonMapNotExist")
            # A person in no group any more is gone: existence is membership.
            members.remove(person)
        return {}

    def create_group(self, params: dict) -> dict:
        group, _name = require_params(params, ("GroupId", "GroupName"))
        check_id(group, "GroupId")
        with self.lock:
            if group in self.groups:
                raise ApiError("InvalidParameterValue.GroupIdAlreadyExist")
            self.groups[group] = set()
        return {"FaceModelVersion": "3.0"}

    def create_person(self, params: dict) -> dict:
        group, person, _name = require_params(params, ("GroupId", "PersonId", "PersonName"))
        check_id(person, "PersonId")
        check_id(group, "GroupId")
        with self.lock:
            members = self.groups.get(group)
            if members is None:
                raise ApiError("InvalidParameterValue.GroupIdNotExist")
            if person in members:
                raise ApiError("InvalidParameterValue.PersonIdAlreadyExist")
            members.add(person)
        return {"FaceId": f"face-{person}", "FaceRect": {"X": 0, "Y": 0, "Width": 1, "Height": 1},
                "SimilarPersonId": "", "FaceModelVersion": "3.0"}

    def get_person_group_info(self, params: dict) -> dict:
        (person,) = require_params(params, ("PersonId",))
        check_id(person, "PersonId")
        with self.lock:
            groups = sorted(g for g, members in self.groups.items() if person in members)
        if not groups:
            raise ApiError("InvalidParameterValue.PersonIdNotExist")
        return {"PersonGroupInfos": [{"GroupId": g, "PersonExDescriptions": []} for g in groups],
                "GroupNum": len(groups), "FaceModelVersion": "3.0"}

    # -- the CVM metadata service and STS ----------------------------------

    def set_role(self, args: dict) -> None:
        expires = time.time() + float(args.get("expires_in", 7200))
        with self.lock:
            if args.get("revoke"):
                self.credentials.pop(args["revoke"], None)
            self.roles[args["name"]] = {
                "id": args["id"], "key": args["key"], "token": args["token"],
                "expires": int(expires), "code": args.get("code", "Success"),
                "answer": args.get("answer", "json"),
                "delay_ms": int(args.get("delay_ms", 0)),
            }
            if args.get("bind", "1") == "1":
                self.bound_role = args["name"]
            self.credentials[args["id"]] = (args["key"], args["token"])
            self.expiry[args["id"]] = int(expires)

    def metadata_answer(self, path: str) -> tuple[Reply, int]:
        """A GET of the metadata service; also how long to wait before answering."""
        prefix = "/latest/meta-data/cam/security-credentials/"
        with self.lock:
            self.metadata_paths.append(path)
            if path == prefix:
                if self.bound_role is None:
                    return text_reply(404, "404 - Not Found"), 0
                return Reply(200, "text/plain", self.bound_role.encode(), "role", None), 0
            role = self.roles.get(path[len(prefix):]) if path.startswith(prefix) else None
            if role is None:
                return text_reply(404, "404 - Not Found"), 0
            role = dict(role)
        body = {"TmpSecretId": role["id"], "TmpSecretKey": role["key"],
                "ExpiredTime": role["expires"],
                "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(role["expires"])),
                "Token": role["token"], "Code": role["code"]}
        data = json_bytes(body)
        if role["answer"] == "malformed":
            data = data[:len(data) // 2 + 20]   # cut off after the key
        elif role["answer"] == "no_key":
            del body["TmpSecretKey"]
            data = json_bytes(body)
        elif role["answer"] == "escaped":   # \u escapes beyond ASCII and Latin-1
            data = json_bytes({**body, "Description": "角色凭证 café"}, ascii_only=True)
        return Reply(200, "text/plain", data, "credentials", None), role["delay_ms"]

    def metadata_counts(self) -> dict:
        prefix = "/latest/meta-data/cam/security-credentials/"
        with self.lock:
            paths = list(self.metadata_paths)
        return {"requests": len(paths), "list": sum(1 for p in paths if p == prefix),
                "credentials": sum(1 for p in paths if p != prefix), "paths": paths}

    def set_sts(self, args: dict) -> None:
        expires = int(time.time() + float(args.get("expires_in", 7200)))
        with self.lock:
            self.sts = {**args, "expires": expires}
            if args.get("id"):
                self.credentials[args["id"]] = (args["key"], args["token"])
                self.expiry[args["id"]] = expires

    def sts_answer(self, req: ApiRequest, rid: str) -> Reply:
        """STS AssumeRoleWithWebIdentity, as the SDKs call it: unsigned."""
        with self.lock:
            sts = dict(self.sts) if self.sts else None
        if sts and int(sts.get("delay_ms", 0)):
            time.sleep(int(sts["delay_ms"]) / 1000)
        if sts and sts.get("answer") == "malformed":
            return Reply(200, JSON_TYPE, b'{"Response":{"Credentials":{"TmpSecretKey":"' +
                         sts["key"].encode(), "malformed", None)
        params = req.params or {}

        def refuse(code: str, message: str) -> Reply:
            return api_error(code, message, rid, message)

        if req.header("authorization") != "SKIP":
            return refuse("AuthFailure.InvalidAuthorization", "AssumeRoleWithWebIdentity is not signed: Authorization must be SKIP")
        if req.header("x-tc-version") != "2018-08-13":
            return refuse("NoSuchVersion", "STS version is 2018-08-13")
        if not req.header("x-tc-region") or not req.header("x-tc-timestamp"):
            return refuse("MissingParameter", "X-TC-Region and X-TC-Timestamp are required")
        if not (req.header("content-type") or "").startswith("application/json"):
            return refuse("InvalidParameter", "Content-Type must be application/json")
        for name in ("ProviderId", "WebIdentityToken", "RoleArn", "RoleSessionName"):
            if not isinstance(params.get(name), str) or not params[name]:
                return refuse("MissingParameter", f"{name} is required")
        if not re.fullmatch(r"[\w+=,.@-]{2,64}", params["RoleSessionName"]):
            return refuse("InvalidParameter", "RoleSessionName is 2 to 64 of [\\w+=,.@-]")
        duration = params.get("DurationSeconds", 7200)
        if not isinstance(duration, int) or not 0 < duration <= 43200:
            return refuse("InvalidParameter", "DurationSeconds is 1 to 43200")
        if sts is None:
            return refuse("InvalidParameter.WebIdentityTokenError", "no web identity is configured")
        if sts.get("error"):
            return refuse(sts["error"], "refused as configured")
        if (params["ProviderId"], params["RoleArn"], params["WebIdentityToken"]) != \
                (sts.get("provider"), sts.get("role_arn"), sts.get("web_token")):
            return refuse("InvalidParameter.WebIdentityTokenError", "ProviderId, RoleArn or WebIdentityToken do not match")
        result = {"Credentials": {"Token": sts["token"], "TmpSecretId": sts["id"],
                                  "TmpSecretKey": sts["key"]},
                  "ExpiredTime": sts["expires"],
                  "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sts["expires"]))}
        return api_success(result, rid)

    ACTIONS = {
        "DeletePersonFromGroup": delete_person_from_group,
        "CreateGroup": create_group,
        "CreatePerson": create_person,
        "GetPersonGroupInfo": get_person_group_info,
    }


def fault_reply(fault: Fault, rid: str, lang: str) -> Reply:
    """The canned answer of a fault that skips processing and still answers."""
    if fault.kind == "status":
        return text_reply(fault.status, f"mock fault: HTTP {fault.status}")
    if fault.kind in ("error", "throttle"):
        return api_error(fault.code, fault.message or ApiError(fault.code).message(lang), rid,
                         ascii_only=fault.escape)
    if fault.kind == "text":
        return api_success({"Text": fault.message or ""}, rid, ascii_only=fault.escape)
    if fault.kind == "malformed":
        return Reply(200, "text/html", b"<html>not json</html>", "malformed", None)
    if fault.kind == "empty":
        return Reply(200, JSON_TYPE, b"", "empty", None)
    if fault.kind == "no_request_id":
        return Reply(200, JSON_TYPE, b'{"Response":{}}', "no_request_id", None)
    raise AssertionError(fault.kind)


# --------------------------------------------------------------------------
# Control endpoints
# --------------------------------------------------------------------------

class BadArgument(Exception):
    pass


def expect_args(args: dict, required: tuple = (), optional: tuple = ()) -> None:
    for name in args:
        if name not in required and name not in optional:
            raise BadArgument(f"unknown argument {name!r}")
    for name in required:
        if not args.get(name):
            raise BadArgument(f"argument {name!r} is required")


def int_arg(args: dict, name: str, default: int | None, low: int, high: int) -> int | None:
    if name not in args:
        return default
    try:
        value = int(args[name])
    except ValueError:
        raise BadArgument(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise BadArgument(f"{name} must be between {low} and {high}")
    return value


def float_arg(args: dict, name: str) -> float | None:
    if name not in args:
        return None
    try:
        value = float(args[name])
    except ValueError:
        raise BadArgument(f"{name} must be a number") from None
    if value != value or abs(value) == float("inf"):
        raise BadArgument(f"{name} must be finite")
    return value


def ctl_reset(mock: MockIai, args: dict) -> dict:
    expect_args(args)
    mock.reset()
    return {"ok": True}


def ctl_group(mock: MockIai, args: dict) -> dict:
    expect_args(args, ("id",), ("persons",))
    persons = [p for p in args.get("persons", "").split(",") if p]
    mock.add_group(args["id"], persons)
    return {"ok": True}


def ctl_state(mock: MockIai, args: dict) -> dict:
    expect_args(args)
    return {"groups": mock.snapshot()}


def ctl_log(mock: MockIai, args: dict) -> dict:
    expect_args(args, (), ("since",))
    return {"requests": mock.log_since(int_arg(args, "since", 0, 0, 2**63))}


def ctl_count(mock: MockIai, args: dict) -> dict:
    expect_args(args, (), ("verdict", "action"))
    return {"count": mock.count(args.get("verdict"), args.get("action"))}


def ctl_credential(mock: MockIai, args: dict) -> dict:
    expect_args(args, ("id", "key"), ("token",))
    mock.add_credential(args["id"], args["key"], args.get("token") or None)
    return {"ok": True}


def ctl_role(mock: MockIai, args: dict) -> dict:
    expect_args(args, (), ("name", "id", "key", "token", "expires_in", "code", "answer",
                           "bind", "delay_ms", "revoke", "unbind"))
    if args.get("unbind"):
        with mock.lock:
            mock.bound_role = None
        return {"ok": True}
    expect_args(args, ("name", "id", "key", "token"), ("expires_in", "code", "answer", "bind",
                                                      "delay_ms", "revoke"))
    float_arg(args, "expires_in")
    int_arg(args, "delay_ms", 0, 0, 600_000)
    mock.set_role(args)
    return {"ok": True}


def ctl_metadata(mock: MockIai, args: dict) -> dict:
    expect_args(args)
    return mock.metadata_counts()


def ctl_sts(mock: MockIai, args: dict) -> dict:
    expect_args(args, (), ("provider", "role_arn", "web_token", "id", "key", "token",
                           "expires_in", "error", "answer", "delay_ms"))
    float_arg(args, "expires_in")
    int_arg(args, "delay_ms", 0, 0, 600_000)
    mock.set_sts(args)
    return {"ok": True}


def ctl_fault(mock: MockIai, args: dict) -> dict:
    expect_args(args, ("kind",), ("count", "ms", "status", "code", "message", "size", "escape"))
    kind = args["kind"]
    if kind not in FAULT_KINDS:
        raise BadArgument(f"unknown fault kind {kind!r}; one of {', '.join(sorted(FAULT_KINDS))}")
    status = int_arg(args, "status", 503, 200, 599)
    if status in (204, 304):
        raise BadArgument("status must allow a body (not 204 or 304)")
    code = args.get("code") or ("RequestLimitExceeded" if kind == "throttle" else "")
    if kind == "error" and not code:
        raise BadArgument("kind=error needs code")
    fault = Fault(kind=kind,
                  remaining=int_arg(args, "count", 1, 1, 1_000_000),
                  ms=int_arg(args, "ms", 200 if kind == "trickle" else 1000, 0, HANG_SECONDS * 1000),
                  status=status, code=code, message=args.get("message") or None,
                  size=int_arg(args, "size", 2 * 1024 * 1024, OVERSIZED_MIN, 2**31 - 1),
                  escape=bool(int_arg(args, "escape", 0, 0, 1)))
    return {"ok": True, "queued": mock.queue_fault(fault)}


def ctl_clear_faults(mock: MockIai, args: dict) -> dict:
    expect_args(args)
    mock.clear_faults()
    return {"ok": True}


def ctl_config(mock: MockIai, args: dict) -> dict:
    expect_args(args, (), ("rate_limit", "clock_skew", "delay_ms"))
    mock.configure(int_arg(args, "rate_limit", None, 0, 1_000_000), float_arg(args, "clock_skew"),
                   int_arg(args, "delay_ms", None, 0, 60_000))
    return {"ok": True}


CONTROL_ENDPOINTS = {
    "reset": ctl_reset, "group": ctl_group, "state": ctl_state, "log": ctl_log,
    "count": ctl_count, "credential": ctl_credential, "fault": ctl_fault,
    "clear_faults": ctl_clear_faults, "config": ctl_config,
    "role": ctl_role, "metadata": ctl_metadata, "sts": ctl_sts,
}


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------

class BadRequest(Exception):
    pass


class MockHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-iai"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def log_message(self, format, *args):
        pass    # the tests read /_mock/log instead

    def handle(self):
        try:
            super().handle()
        except QUIET_ERRORS:
            self.close_connection = True

    def _route(self):
        """Every method lands here: control endpoints accept any, the API answers 405."""
        arrived, now = time.time(), time.monotonic()
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except BadRequest:
            self.close_connection = True
            self._send(text_reply(400, "bad request framing"))
            return
        try:
            if url.path.startswith(CONTROL_PREFIX):
                self._control(url.path[len(CONTROL_PREFIX):].strip("/"), url.query)
            elif url.path.startswith(METADATA_PREFIX):
                reply, delay_ms = self.server.mock.metadata_answer(url.path)
                time.sleep(delay_ms / 1000)
                self._send(reply)
            else:
                self._api(url, body, arrived, now)
        except QUIET_ERRORS:
            raise
        except Exception:
            # A bug in the mock: say so loudly rather than leave the client guessing.
            traceback.print_exc()
            self.close_connection = True
            self._send(text_reply(500, "mock internal error"))

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _route

    # -- reading -----------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The request body; None (left unread) when it exceeds MAX_BODY."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise BadRequest
        size = int(length)
        if size > MAX_BODY:
            self.close_connection = True
            return None
        body = self.rfile.read(size)
        if len(body) < size:
            raise ConnectionResetError("client closed mid-body")
        return body

    def _read_chunked(self) -> bytes | None:
        parts, total = [], 0
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                return None
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass    # trailer fields
        return b"".join(parts)

    # -- writing -----------------------------------------------------------

    def _head(self, status: int, content_type: str, length: int, extra: tuple = ()) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        lines = [f"HTTP/1.1 {status} {reason}", f"Server: {self.server_version}",
                 f"Date: {self.date_time_string()}", f"Content-Type: {content_type}",
                 f"Content-Length: {length}", *extra]
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, reply: Reply) -> None:
        extra = ("Allow: POST",) if reply.status == 405 else ()
        head = self._head(reply.status, reply.content_type, len(reply.body), extra)
        # One write: a separate body write would meet Nagle + delayed ACK.
        self.wfile.write(head if self.command == "HEAD" else head + reply.body)

    def _trickle(self, reply: Reply, ms: int) -> None:
        self.wfile.write(self._head(reply.status, reply.content_type, len(reply.body)))
        for i in range(len(reply.body)):
            time.sleep(ms / 1000)
            self.wfile.write(reply.body[i:i + 1])

    def _oversized(self, rid: str, size: int) -> None:
        prefix, suffix = oversized_parts(rid)
        self.wfile.write(self._head(200, JSON_TYPE, size) + prefix)
        chunk = memoryview(b"x" * 65536)
        pad = size - len(prefix) - len(suffix)
        while pad > 0:
            step = min(pad, len(chunk))
            self.wfile.write(chunk[:step])
            pad -= step
        self.wfile.write(suffix)

    def _hang(self) -> None:
        """Answer nothing until the client leaves or HANG_SECONDS pass."""
        self.close_connection = True
        deadline = time.monotonic() + HANG_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            self.connection.settimeout(left)
            try:
                if not self.connection.recv(65536):
                    return
            except QUIET_ERRORS:
                return

    # -- routing -----------------------------------------------------------

    def _control(self, name: str, query: str) -> None:
        endpoint = CONTROL_ENDPOINTS.get(name)
        if endpoint is None:
            status, answer = 404, {"error": f"unknown control endpoint {CONTROL_PREFIX}{name}"}
        else:
            try:
                status, answer = 200, endpoint(self.server.mock,
                                               dict(parse_qsl(query, keep_blank_values=True)))
            except BadArgument as err:
                status, answer = 400, {"error": str(err)}
        self._send(Reply(status, JSON_TYPE, json_bytes(answer, ascii_only=True), "", None))

    def _api(self, url, body: bytes | None, arrived: float, now: float) -> None:
        mock = self.server.mock
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(wire_text(value))
        req = ApiRequest(self.server.listener, self.command, self.path, url.path, url.query,
                         headers, body or b"", body is not None)
        entry = req.log_entry(arrived)
        # the client's port tells connections apart: keep-alive reuse is visible
        entry["conn"] = f"{self.server.listener}:{self.client_address[1]}"
        seq, fault, over_rate, clock_skew, delay_ms = mock.admit(entry, now)
        rid = request_id(seq)
        kind = fault.kind if fault else None
        if kind in TAMPER_FAULTS:
            req = tamper(req, kind)
            tampered = req.log_entry(arrived)
            entry.update(headers=tampered["headers"], body=tampered["body"],
                         person=tampered["person"])

        if kind is None or kind in PROCESSED_FAULTS:
            person = entry["person"]
            if not mock.claim_person(person):
                reply = api_error("FailedOperation.ConflictOperation",
                                  ApiError("FailedOperation.ConflictOperation").message(req.language),
                                  rid)
                mock.finish(entry, reply.verdict, reply.request_id)
                self._send(reply)
                return
            try:
                if delay_ms:
                    time.sleep(delay_ms / 1000)
                if kind == "delay":
                    time.sleep(fault.ms / 1000)
                reply = mock.process(req, rid, over_rate, clock_skew)
            finally:
                mock.release_person(person)
            mock.finish(entry, reply.verdict, reply.request_id, reply.detail)
            if kind == "drop_after":
                self.close_connection = True
            elif kind == "trickle":
                self._trickle(reply, fault.ms)
            else:
                self._send(reply)
        elif kind == "drop":
            mock.finish(entry, "dropped", None)
            self.close_connection = True
        elif kind == "hang":
            mock.finish(entry, "hung", None)
            self._hang()
        elif kind == "oversized":
            mock.finish(entry, "oversized", rid)
            self._oversized(rid, fault.size)
        else:
            reply = fault_reply(fault, rid, req.language)
            mock.finish(entry, reply.verdict, reply.request_id)
            self._send(reply)


class MockServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, listener: str, mock: MockIai, tls: ssl.SSLContext | None):
        self.listener, self.mock, self.tls = listener, mock, tls
        super().__init__(address, MockHandler)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is None:
            return super().finish_request(request, client_address)
        # Handshake here, in the connection's thread, so a slow client blocks no one.
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except QUIET_ERRORS:
            return      # e.g. the client rejected the certificate
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], QUIET_ERRORS):
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

CA_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = iai mock test CA
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

LEAF_CONFIG = """\
[req]
distinguished_name = dn
[dn]
[v3_leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = {san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

# name, common name, subjectAltName
LEAVES = (("server", "127.0.0.1", "IP:127.0.0.1, DNS:localhost"),
          ("wronghost", "wrong-host.invalid", "DNS:wrong-host.invalid"))

EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256")


def openssl(*args: str, cwd: Path) -> None:
    try:
        run = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit("mock_iai: the openssl command is needed to make certificates")
    if run.returncode != 0:
        sys.exit(f"mock_iai: openssl {' '.join(args[:2])} failed:\n{run.stderr}")


def add_mode(path: Path, bits: int) -> None:
    try:
        path.chmod(path.stat().st_mode & 0o7777 | bits)
    except PermissionError:
        pass    # not ours; leave it as it is


def install(tmp: Path, directory: Path, name: str, mode: int) -> None:
    (tmp / name).chmod(mode)
    os.replace(tmp / name, directory / name)


def ensure_certificates(directory: Path) -> None:
    """Make the CA and both server certificates unless DIR has them."""
    directory.mkdir(parents=True, exist_ok=True)
    add_mode(directory, 0o055)      # the PostgreSQL server, another user, reads ca.pem

    def have(*names: str) -> bool:
        return all((directory / name).is_file() for name in names)

    new_ca = not have("ca.pem", "ca.key")
    with tempfile.TemporaryDirectory(dir=directory, prefix=".certs-") as tmp_name:
        tmp = Path(tmp_name)
        if new_ca:
            (tmp / "ca.cnf").write_text(CA_CONFIG)
            openssl("req", "-x509", "-new", *EC_KEY, "-days", "3650", "-config", "ca.cnf",
                    "-keyout", "ca.key", "-out", "ca.pem", cwd=tmp)
            install(tmp, directory, "ca.key", 0o600)
            install(tmp, directory, "ca.pem", 0o644)
        for name, common_name, san in LEAVES:
            if not new_ca and have(f"{name}.pem", f"{name}.key"):
                continue
            (tmp / "leaf.cnf").write_text(LEAF_CONFIG.format(san=san))
            openssl("req", "-new", *EC_KEY, "-config", "leaf.cnf", "-subj", f"/CN={common_name}",
                    "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=tmp)
            # Random serials: two certificates from one CA must not share one.
            serial = str(int.from_bytes(os.urandom(8), "big") | 1)
            openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(directory / "ca.pem"),
                    "-CAkey", str(directory / "ca.key"), "-set_serial", serial,
                    "-days", "3650", "-sha256", "-extfile", "leaf.cnf", "-extensions", "v3_leaf",
                    "-out", f"{name}.pem", cwd=tmp)
            install(tmp, directory, f"{name}.key", 0o600)
            install(tmp, directory, f"{name}.pem", 0o644)
    add_mode(directory / "ca.pem", 0o044)


def tls_context(directory: Path, name: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(directory / f"{name}.pem", directory / f"{name}.key")
    return context


# --------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def write_file(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def exit_cleanly(signum, frame):
    sys.exit(0)


def serve(args) -> int:
    # Real handlers: a shell's "&" can leave SIGINT ignored, and an ignored signal
    # never reaches sigwait(); this also makes a stop during start-up exit 0.
    for sig in STOP_SIGNALS:
        signal.signal(sig, exit_cleanly)
    directory = Path(args.dir)
    for stale in ("ready", "mock.pid"):     # a leftover "ready" would start the tests early
        (directory / stale).unlink(missing_ok=True)
    ensure_certificates(directory)
    listeners = [("http", args.http_port, None),
                 ("https", args.https_port, tls_context(directory, "server")),
                 ("wronghost", args.wronghost_port, tls_context(directory, "wronghost"))]
    mock = MockIai()
    for spec in args.group:
        group, _, persons = spec.partition("=")
        mock.add_group(group, [p for p in persons.split(",") if p])

    # Block the stop signals before any thread starts, so only sigwait() below sees them.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    servers = []
    for name, port, tls in listeners:
        # The fixed ports lie in the kernel's ephemeral range: a client
        # connection of the moment may hold one as its local port. Such a
        # connection is short, so wait for it (5 s at most) rather than fail.
        for attempt in range(50):
            try:
                servers.append(MockServer((args.host, port), name, mock, tls))
                break
            except OSError as err:
                if err.errno == errno.EADDRINUSE and attempt < 49:
                    time.sleep(0.1)
                    continue
                print(f"mock_iai: cannot listen on {args.host}:{port} ({name}): {err}", file=sys.stderr)
                return 1
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         name=f"listen-{server.listener}", daemon=True).start()

    write_file(directory / "mock.pid", f"{os.getpid()}\n")
    write_file(directory / "ready", "")
    print(f"mock_iai: pid {os.getpid()}, http {args.http_port}, https {args.https_port}, "
          f"wronghost {args.wronghost_port} on {args.host}", file=sys.stderr, flush=True)

    signal.sigwait(STOP_SIGNALS)
    for server in servers:
        server.shutdown()
        server.server_close()
    for name in ("ready", "mock.pid"):
        (directory / name).unlink(missing_ok=True)
    return 0


# --------------------------------------------------------------------------
# --self-test
# --------------------------------------------------------------------------

HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class SigningCase:
    id: str
    secret_id: str
    secret_key: str
    service: str
    timestamp: str
    body: bytes
    headers: dict[str, str]             # as the client sent them, lowercased names
    signed: list[str]
    expected: list[tuple[str, str, str]]    # (field, value, label)


def strip_port(host: str) -> str:
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def vector_case(vector: dict) -> SigningCase:
    """A case of tc3-vectors.json ("vectors" or "documented_examples")."""
    inputs = vector["inputs"]
    host = inputs["host"]
    if inputs.get("host_policy") == "sdk":
        host = strip_port(host)     # the SDK signs (and sends) the host name only
    signed = inputs.get("signed_headers", "content-type;host").split(";")
    headers = {"content-type": inputs["content_type"], "host": host}
    if "x-tc-action" in signed:
        headers["x-tc-action"] = inputs["action"]
    expected = [(f, vector[f], f) for f in ("signed_host", "payload_sha256", "credential_scope",
                                           "canonical_request", "string_to_sign", "signature",
                                           "authorization") if vector.get(f) is not None]
    documented = vector.get("documented", {})
    for source, f in (("hashed_request_payload", "payload_sha256"),
                      ("hashed_canonical_request", "canonical_request_sha256"),
                      ("credential_scope", "credential_scope"), ("signature", "signature")):
        value = documented.get(source)
        if value and (f == "credential_scope" or HEX64.fullmatch(value)):
            expected.append((f, value, f"documented {source}"))
    return SigningCase(vector["id"], inputs["secretId"], inputs["secretKey"], inputs["service"],
                       str(inputs["timestamp"]), inputs["payload"].encode(), headers,
                       signed, expected)


def doc_example_case(example: dict) -> SigningCase:
    """A case of tc3-doc-examples.json."""
    inputs = example["inputs"]
    headers = {"content-type": inputs["content_type"], "host": inputs["host"]}
    headers.update({k.lower(): v for k, v in inputs.get("extra_signed_headers", {}).items()})
    expected = [(f, example[f], f) for f in ("payload_sha256", "canonical_request_sha256",
                                            "signing_key", "signature") if example.get(f)]
    return SigningCase(example["id"], inputs["secretId"], inputs["secretKey"], inputs["service"],
                       str(inputs["timestamp"]), inputs["payload"].encode(), headers,
                       sorted(headers), expected)


def load_cases(path: str) -> list[SigningCase]:
    doc = json.loads(Path(path).read_text("utf-8"))
    if "examples" in doc:
        return [doc_example_case(e) for e in doc["examples"]]
    return [vector_case(v) for v in doc.get("documented_examples", []) + doc.get("vectors", [])]


def verifier_problems(case: SigningCase, signature: str, authorization: str | None) -> list[str]:
    """Run the server's verifier on the expected signature, then on tampered requests."""
    date = utc_date(int(case.timestamp))
    auth = parse_authorization(authorization or format_authorization(
        case.secret_id, date, case.service, case.signed, signature))
    if auth is None:
        return ["verifier: the Authorization does not parse"]
    wire = {name: [value] for name, value in case.headers.items()}

    def verify(headers=wire, body=case.body, timestamp=case.timestamp, key=case.secret_key):
        return verify_tc3(auth, headers, body, timestamp, key, case.service)

    why = verify()
    if why:
        return [f"verifier rejected the expected signature: {why}"]
    problems = []
    if verify(headers={n: [f"  {v.upper()} "] for n, v in case.headers.items()}):
        problems.append("verifier did not lowercase/trim header values")
    tampered = {
        "changed body": verify(body=case.body + b" "),
        "changed Host": verify(headers={**wire, "host": ["x" + case.headers["host"]]}),
        "changed Content-Type": verify(headers={**wire, "content-type": ["text/plain"]}),
        "changed timestamp": verify(timestamp=str(int(case.timestamp) + 1)),
        "wrong secret key": verify(key=case.secret_key + "x"),
    }
    problems += [f"verifier accepted a request with {what}" for what, why in tampered.items()
                 if why is None]
    return problems


def check_case(case: SigningCase) -> list[str]:
    calc = compute_tc3(case.secret_key, case.timestamp, case.service, case.headers,
                       case.signed, case.body)
    date = utc_date(int(case.timestamp))
    computed = {
        "signed_host": case.headers["host"],
        "payload_sha256": calc.payload_hash,
        "credential_scope": f"{date}/{case.service}/tc3_request",
        "canonical_request": calc.canonical_request,
        "canonical_request_sha256": calc.canonical_hash,
        "string_to_sign": calc.string_to_sign,
        "signing_key": calc.signing_key.hex(),
        "signature": calc.signature,
        "authorization": format_authorization(case.secret_id, date, case.service,
                                              case.signed, calc.signature),
    }
    problems = [f"{label}: expected {want!r}, got {computed[f]!r}"
                for f, want, label in case.expected if computed[f] != want]
    expected = {f: want for f, want, _ in case.expected}
    if "signature" in expected:
        problems += verifier_problems(case, expected["signature"], expected.get("authorization"))
    return problems


def self_test(paths: list[str]) -> int:
    passed = failed = 0
    for path in paths:
        try:
            cases = load_cases(path)
        except (OSError, ValueError, KeyError) as err:
            print(f"FAIL {path}: cannot load: {err!r}")
            failed += 1
            continue
        for case in cases:
            problems = check_case(case)
            if problems:
                print(f"FAIL {case.id}: {'; '.join(problems)}")
                failed += 1
            else:
                print(f"ok {case.id}")
                passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


# --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mock Tencent Cloud IAI API 3.0 server.")
    parser.add_argument("--dir", help="directory for certificates, mock.pid and ready")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=58080)
    parser.add_argument("--https-port", type=int, default=58443)
    parser.add_argument("--wronghost-port", type=int, default=58444)
    parser.add_argument("--group", action="append", default=[], metavar="ID=P1,P2",
                        help="start with this group and persons (repeatable)")
    parser.add_argument("--self-test", nargs="+", metavar="FILE",
                        help="check the signature code against vector files and exit")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test(args.self_test)
    if not args.dir:
        parser.error("--dir is required")
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
