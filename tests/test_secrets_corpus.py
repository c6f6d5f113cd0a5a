"""The secrets corpus: every credential shape in every place a recording can hold it.

Each shape (:data:`PLANTS`) is planted in each location (:data:`LOCATIONS`: headers, URL
userinfo, path and query, JSON, text, form and multipart bodies, SSE data, tool-call
arguments and outputs, binary bodies, gzip and deflate request and response bodies),
recorded from a real server on 127.0.0.1 through httpx, httpx2, requests and
``runreplay record``. The cassette file must hold none of them in any encoding (raw,
JSON-escaped, URL-quoted, base64, nor inside a stored base64 body), and ``scrub --check``
must find every one of them in hand-made cassettes (plus meta and timelines). The
repository's own cassettes and the imported real traffic must give no false positive.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import os
import random
import re
import string
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import httpx
import httpx2
import pytest
import requests
from _paths import TRAFFIC
from _servers import Handler, serve
from click.testing import CliRunner

from runreplay import use_cassette
from runreplay.cassette import Body, Cassette, Headers, Interaction, Request, Response, load, save
from runreplay.cassette.wire import body_from_wire
from runreplay.cli import main
from runreplay.engine.scrub import Scrubber, find_secrets
from runreplay.importers import import_file

ROOT = Path(__file__).resolve().parents[1]
_RNG = random.Random(1313)
_ALNUM = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"


def _r(size: int, alphabet: str = _ALNUM) -> str:
    out = "".join(_RNG.choice(alphabet) for _ in range(size))
    return out[:-2] + _RNG.choice(string.digits) + _RNG.choice(string.ascii_uppercase)  # never all letters


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _jwt() -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    signature = base64.urlsafe_b64encode(_RNG.randbytes(32)).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': _r(12), 'iat': 1700000000})}.{signature}"


def _entra_jwt() -> str:
    """An Entra ID access token as Azure SDKs send it: RS256, signed by a key named in the header."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")

    header = {"typ": "JWT", "alg": "RS256", "x5t": _r(27), "kid": _r(27)}
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    claims = {
        "aud": "https://ai.azure.com",
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": 1745870000,
        "exp": 1745874000,
        "oid": "3f2b8c1e-9d4a-4e7b-8f6c-2a1b3c4d5e6f",
        "tid": tenant,
        "scp": "user_impersonation",
        "upn": "someone@example.com",
    }
    signature = base64.urlsafe_b64encode(_RNG.randbytes(256)).decode().rstrip("=")
    return f"{part(header)}.{part(claims)}.{signature}"


def _sas(signature: str) -> str:
    """A user delegation SAS's query: only ``sig`` (and the signer's ids) are secret."""
    return (
        "sv=2022-11-02&ss=b&srt=co&sp=rl&se=2025-05-02T07%3A45%3A36Z&st=2025-05-02T06%3A45%3A36Z&spr=https"
        f"&skoid=3f2b8c1e-9d4a-4e7b-8f6c-2a1b3c4d5e6f&sktid=72f988bf-86f1-41af-91ab-2d7cd011db47"
        f"&sig={quote(signature, safe='')}"
    )


def _pem(label: str) -> str:
    lines = [base64.b64encode(_RNG.randbytes(48)).decode() for _ in range(6)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


@dataclass(frozen=True)
class Plant:
    """A secret: ``secret`` must never reach disk. ``bare`` is how it is planted where no name
    says what it is; ``name``, when given, is the key name that makes it a secret (then it is
    planted under that name instead)."""

    shape: str
    secret: str
    bare: str = ""
    name: str | None = None
    header: str | None = None  # the header it travels in, when named
    query: str | None = None  # the query string it travels in (a SAS token), else name=value

    @property
    def text(self) -> str:
        return self.bare or self.secret

    @property
    def one_line(self) -> bool:
        return "\n" not in self.secret

    def pair(self, default_key: str = "note") -> tuple[str, str]:
        """(name, value) for a named place: a JSON key, form field, query parameter."""
        return (self.name, self.secret) if self.name else (default_key, self.text)

    def phrase(self) -> str:
        """The plant in free text."""
        return f"{self.name}={self.secret}" if self.name else f"see {self.text} here"


def _plants() -> list[Plant]:
    basic = _b64(f"svc-user:{_r(18)}".encode())
    return [
        Plant("openai_legacy", f"sk-{_r(20)}T3BlbkFJ{_r(20)}"),
        Plant("openai_project", f"sk-proj-{_r(48, _ALNUM + '_-')}{_r(20)}"),
        Plant("openai_service_account", f"sk-svcacct-{_r(64, _ALNUM + '_-')}"),
        Plant("openai_admin", f"sk-admin-{_r(64, _ALNUM + '_-')}"),
        Plant("coze_pat", f"pat_{_r(64)}"),
        Plant("coze_sat", f"sat_{_r(64)}"),
        *(Plant(f"github_{p}", f"{p}_{_r(36)}") for p in ("ghp", "gho", "ghu", "ghs", "ghr")),
        Plant("github_fine_grained", f"github_pat_{_r(22)}_{_r(59)}"),
        Plant("slack_bot", f"xoxb-{_r(12, string.digits)}-{_r(13, string.digits)}-{_r(24)}"),
        Plant("slack_user", f"xoxp-{_r(12, string.digits)}-{_r(12, string.digits)}-{_r(13, string.digits)}-{_r(32)}"),
        Plant("slack_app_legacy", f"xoxa-2-{_r(12, string.digits)}-{_r(24)}"),
        Plant("slack_refresh", f"xoxr-{_r(12, string.digits)}-{_r(24)}"),
        Plant("slack_app_level", f"xapp-1-A{_r(10, string.digits)}-{_r(13, string.digits)}-{_r(64, _HEX)}"),
        Plant("aws_access_key_id", f"AKIA{_r(16, string.ascii_uppercase + '234567')}"),
        Plant(
            "aws_secret_access_key",
            _r(40, _ALNUM + "/+"),
            name="aws_secret_access_key",
            header="x-aws-secret-access-key",
        ),
        Plant("google_api_key", f"AIza{_r(35, _ALNUM + '_-')}"),
        Plant(
            "azure_storage_key",
            (key := _b64(_RNG.randbytes(64))),
            bare=f"DefaultEndpointsProtocol=https;AccountName=acct{_r(6).lower()};AccountKey={key};"
            "EndpointSuffix=core.windows.net",
        ),
        Plant("azure_openai_key", _r(32, "0123456789abcdef"), name="azure_openai_api_key", header="api-key"),
        Plant("stripe_secret", f"sk_live_{_r(24)}"),
        Plant("stripe_restricted", f"rk_live_{_r(24)}"),
        Plant("huggingface", f"hf_{_r(34, string.ascii_letters)}"),
        Plant("anthropic", f"sk-ant-api03-{_r(93, _ALNUM + '_-')}AA"),
        Plant("jwt", _jwt()),
        Plant("bearer_opaque", (token := _r(40, _ALNUM + "._-")), bare=f"Bearer {token}"),
        Plant("basic_auth", basic, bare=f"Basic {basic}"),
        Plant("pem_rsa", _pem("RSA PRIVATE KEY")),
        Plant("pem_ec", _pem("EC PRIVATE KEY")),
        Plant("pem_openssh", _pem("OPENSSH PRIVATE KEY")),
        Plant("pem_pkcs8", _pem("PRIVATE KEY")),
        Plant("password", f"Tr0ub4dor!{_r(12)}", name="password", header="x-password"),
        Plant("client_secret", _r(40, _ALNUM + "_-"), name="client_secret", header="x-client-secret"),
        Plant("api_key_named", _r(32), name="api_key", header="x-api-key"),
        Plant("refresh_token", _r(48, _ALNUM + "._-"), name="refresh_token", header="x-refresh-token"),
        Plant("private_key_named", _r(44, _ALNUM + "+/"), name="private_key", header="x-private-key"),
        Plant("session_cookie", _r(32, _ALNUM + "_-"), name="session", header="cookie"),
        # Azure: an Entra ID bearer token, an Azure AI services key, SAS tokens, an app's client secret.
        Plant("entra_id_bearer", (entra := _entra_jwt()), bare=f"Bearer {entra}", header="authorization"),
        Plant("azure_ai_services_key", _r(84), name="api-key", header="api-key"),
        Plant(
            "azure_sas_url",
            (sig := _b64(_RNG.randbytes(32))),
            bare=f"https://acct{_r(6).lower()}.blob.core.windows.net/data/report.pdf?{_sas(sig)}",
            query=_sas(sig),
        ),
        Plant(
            "azure_sas_connection_string",
            (sig2 := _b64(_RNG.randbytes(32))),
            bare=f"BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature={_sas(sig2)}",
        ),
        Plant("azure_client_secret", f"{_r(3)}8Q~{_r(34, _ALNUM + '_~.-')}"),
    ]


PLANTS = _plants()
#: Public and must stay: a Stripe publishable key.
PUBLIC = f"pk_live_{_r(24)}"


# ---------------------------------------------------------------------------- locations


@dataclass
class Wire:
    """A request as sent (and what the server answers to it)."""

    method: str
    path: str  # with query
    headers: list[tuple[str, str]]
    body: bytes = b""
    userinfo: str | None = None

    def url(self, base: str) -> str:
        if self.userinfo:
            return base.replace("://", f"://{self.userinfo}@", 1) + self.path
        return base + self.path


def _multipart(name: str, value: str) -> tuple[bytes, str]:
    boundary = "runreplayboundary7MA4YWxkTrZu0gW"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n',
        f"--{boundary}--\r\n",
    ]
    return "".join(parts).encode(), f"multipart/form-data; boundary={boundary}"


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def _header_value(plant: Plant) -> str:
    """A named secret travels bare in its header; a bearer token with its scheme."""
    return plant.secret if plant.name else plant.text


def _request_side(plant: Plant, where: str) -> Wire | None:
    """The request that carries ``plant`` at ``where`` (None: the place cannot hold it)."""
    json_type = [("content-type", "application/json")]
    name, value = plant.pair()
    if where == "header":
        if not plant.one_line or not plant.text.isascii():
            return None
        if plant.header == "cookie":
            return Wire("GET", "/v1/me", [("cookie", f"theme=dark; {plant.name}={plant.secret}")])
        header = (plant.header, _header_value(plant)) if plant.header else ("x-note", plant.text)
        return Wire("GET", "/v1/me", [header])
    if where == "userinfo":
        return Wire("GET", "/v1/models", [], userinfo=f"svc:{quote(plant.secret, safe='')}")
    if where == "path":  # only what says by its shape that it is a secret
        if plant.name or plant.bare or not plant.one_line:
            return None
        return Wire("GET", f"/v1/files/{quote(plant.secret, safe='')}/content", [])
    if where == "query":
        return Wire("GET", f"/v1/files?limit=2&{plant.query or urlencode({name: value})}", [])
    if where == "json":
        return Wire("POST", "/v1/responses", json_type, _json_bytes({"model": "m", "auth": {name: value}}))
    if where == "text":
        return Wire("POST", "/v1/notes", [("content-type", "text/plain")], f"{plant.phrase()}\n".encode())
    if where == "form":
        form = urlencode({"grant_type": "client_credentials", name: value})
        return Wire("POST", "/oauth/token", [("content-type", "application/x-www-form-urlencoded")], form.encode())
    if where == "multipart":
        data, ctype = _multipart(name, value)
        return Wire("POST", "/v1/files", [("content-type", ctype)], data)
    if where == "tool_output":
        output = json.dumps({name: value})
        body = {"tool_outputs": [{"tool_call_id": "call_abc123", "output": output}]}
        return Wire("POST", "/v1/threads/thread_1/runs/run_1/submit_tool_outputs", json_type, _json_bytes(body))
    if where in ("gzip_request", "deflate_request"):
        raw = _json_bytes({"model": "m", "input": {name: value}})
        encoding = where.split("_")[0]
        packed = gzip.compress(raw, mtime=7) if encoding == "gzip" else zlib.compress(raw)
        return Wire("POST", "/v1/responses", [*json_type, ("content-encoding", encoding)], packed)
    raise AssertionError(where)


def _response_side(plant: Plant, where: str) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """What the server answers with ``plant`` at ``where`` (None: the place cannot hold it)."""
    name, value = plant.pair()
    if where == "response_header":
        if not plant.one_line:
            return None
        if plant.header == "cookie":
            header = ("set-cookie", f"{plant.name}={plant.secret}; Path=/; HttpOnly; Secure")
        else:
            header = (plant.header, _header_value(plant)) if plant.header else ("x-note", plant.text)
        return 200, [("content-type", "application/json"), header], b'{"ok": true}'
    if where == "response_json":
        body = {"id": "run_abc123", "object": "thread.run", "metadata": {"deep": [{name: value}]}}
        return 200, [("content-type", "application/json")], _json_bytes(body)
    if where == "sse_json":
        event = json.dumps({"id": "msg_1", "delta": {"content": [{"text": {name: value}}]}})
        stream = f"event: thread.message.delta\ndata: {event}\n\nevent: done\ndata: [DONE]\n\n"
        return 200, [("content-type", "text/event-stream")], stream.encode()
    if where == "sse_text":
        lines = "\n".join(f"data: {line}" for line in plant.phrase().split("\n"))
        return 200, [("content-type", "text/event-stream")], f"event: note\n{lines}\n\n".encode()
    if where == "tool_arguments":
        arguments = json.dumps({"city": "Paris", name: value})
        call = {"id": "call_abc123", "type": "function", "function": {"name": "lookup", "arguments": arguments}}
        body = {
            "id": "run_abc123",
            "status": "requires_action",
            "required_action": {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [call]}},
        }
        return 200, [("content-type", "application/json")], _json_bytes(body)
    if where == "binary_opaque":
        data = b"\x89PNG\r\n\x1a\n" + _RNG.randbytes(300) + plant.phrase().encode() + _RNG.randbytes(300)
        return 200, [("content-type", "application/octet-stream")], data
    if where == "binary_text":
        data = f"Caf\xe9 r\xe9sum\xe9\n{plant.phrase()}\nfin\n".encode("latin-1")
        return 200, [("content-type", "application/octet-stream")], data
    if where in ("gzip_response", "deflate_response"):
        raw = _json_bytes({"id": "resp_1", "output": [{name: value}]})
        encoding = where.split("_")[0]
        packed = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
        return 200, [("content-type", "application/json"), ("content-encoding", encoding)], packed
    raise AssertionError(where)


REQUEST_PLACES = (
    "header",
    "userinfo",
    "path",
    "query",
    "json",
    "text",
    "form",
    "multipart",
    "tool_output",
    "gzip_request",
    "deflate_request",
)
RESPONSE_PLACES = (
    "response_header",
    "response_json",
    "sse_json",
    "sse_text",
    "tool_arguments",
    "binary_opaque",
    "binary_text",
    "gzip_response",
    "deflate_response",
)
LOCATIONS = REQUEST_PLACES + RESPONSE_PLACES


@dataclass
class Case:
    plant: Plant
    where: str
    wire: Wire
    reply: tuple[int, list[tuple[str, str]], bytes]


def cases() -> list[Case]:
    """Every plant in every location that can hold it; case ``i`` is served at ``/case/<i>/...``."""
    out: list[Case] = []
    ok = (200, [("content-type", "application/json")], b'{"ok": true}')
    for plant in PLANTS:
        for where in LOCATIONS:
            if where in REQUEST_PLACES:
                wire, reply = _request_side(plant, where), ok
            else:
                wire, reply = Wire("GET", "/v1/runs/run_abc123", []), _response_side(plant, where)  # type: ignore[assignment]
            if wire is None or reply is None:
                continue
            wire.path = f"/case/{len(out)}{wire.path}"
            out.append(Case(plant, where, wire, reply))
    return out


CASES = cases()
_PUBLIC_CASE = Wire("POST", "/case/public/v1/checkout", [("content-type", "application/json")])
_PUBLIC_CASE.body = _json_bytes({"publishable_key": PUBLIC, "note": f"client side {PUBLIC}"})


class _Vendor(Handler):
    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        match = re.match(r"/case/(\d+)/", self.path)
        status, headers, body = CASES[int(match.group(1))].reply if match else (200, [], b'{"ok": true}')
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _serve


@pytest.fixture(scope="module")
def vendor() -> Iterator[str]:
    with serve(_Vendor) as url:
        yield url


# ---------------------------------------------------------------------------- what must not be on disk


def encodings(plant: Plant) -> set[str]:
    """Every form of the plant's secret that must not reach disk."""
    secret = plant.secret
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        _b64(secret.encode()),
        _b64(f"svc:{secret}".encode()),  # URL userinfo, sent as Basic auth by the clients
    }
    if len(secret) >= 24:
        forms.add(secret[-16:])  # no tail left behind by a match that stopped short
    if plant.shape.startswith("pem_"):
        forms.update(line for line in secret.splitlines() if "-----" not in line)
    if plant.shape == "basic_auth":
        forms.add(base64.b64decode(secret).decode().split(":")[1])
    return {f for f in forms if len(f) >= 12}


def stored_bytes(text: str) -> list[bytes]:
    """The cassette's text, and every base64 value in it decoded (and decompressed when it is)."""
    out = [text.encode()]
    for match in re.finditer(r'"(?:base64|raw_b64)": "([A-Za-z0-9+/=]*)"', text):
        data = base64.b64decode(match.group(1))
        out.append(data)
        for wbits in (31, 15, -15):
            with contextlib.suppress(zlib.error):
                out.append(zlib.decompress(data, wbits))
    return out


def leaks(text: str, plants: list[Plant]) -> list[str]:
    """``shape@location`` of every plant whose secret is in ``text`` in some encoding."""
    blobs = stored_bytes(text)
    found = []
    for plant in plants:
        for form in encodings(plant):
            raw = form.encode()
            if any(raw in blob for blob in blobs):
                found.append(f"{plant.shape} as {form[:6]}...")
                break
    return found


def leaked_cases(text: str) -> list[str]:
    blobs = stored_bytes(text)
    out = []
    for case in CASES:
        if any(form.encode() in blob for form in encodings(case.plant) for blob in blobs):
            out.append(f"{case.plant.shape}@{case.where}")
    return sorted(set(out))


# ---------------------------------------------------------------------------- recording routes


def _send_httpx(base: str) -> None:
    with httpx.Client(timeout=10) as client:
        for wire in [*(c.wire for c in CASES), _PUBLIC_CASE]:
            client.request(wire.method, wire.url(base), headers=wire.headers, content=wire.body).read()


def _send_httpx2(base: str) -> None:
    with httpx2.Client(timeout=10) as client:
        for wire in [*(c.wire for c in CASES), _PUBLIC_CASE]:
            client.request(wire.method, wire.url(base), headers=wire.headers, content=wire.body).read()


def _send_requests(base: str) -> None:
    with requests.Session() as session:
        for wire in [*(c.wire for c in CASES), _PUBLIC_CASE]:
            session.request(wire.method, wire.url(base), headers=dict(wire.headers), data=wire.body, timeout=10)


SENDERS: dict[str, Callable[[str], None]] = {"httpx": _send_httpx, "httpx2": _send_httpx2, "requests": _send_requests}


def _assert_clean(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    leaked = leaked_cases(text)
    assert not leaked, f"{len(leaked)} of {len(CASES)} plants reached disk: {leaked}"
    assert PUBLIC in text, "a publishable key is public and stays"
    findings = find_secrets(load(path))
    assert findings == [], [str(f) for f in findings[:20]]


@pytest.mark.parametrize("client", sorted(SENDERS))
def test_no_plant_reaches_disk_through_the_plugin(vendor: str, tmp_path: Path, client: str) -> None:
    path = tmp_path / f"{client}.json"
    with use_cassette(path, record_mode="once", validate="off"):
        SENDERS[client](vendor)
    assert len(load(path).interactions) == len(CASES) + 1
    _assert_clean(path)


def test_the_recorded_corpus_replays_with_the_real_secrets(vendor: str, tmp_path: Path) -> None:
    """Requests are scrubbed the same way before matching: sending the real secrets again matches."""
    path = tmp_path / "httpx.json"
    with use_cassette(path, record_mode="once", validate="off"):
        _send_httpx(vendor)
    with use_cassette(path, validate="off") as session:
        _send_httpx("http://127.0.0.1:9")
    assert session.unused() == []


SEND = ("send.py", "wires.json")
_SCRIPT = """
import base64, json, os, sys
import httpx
base = os.environ["BASE"]
with httpx.Client(timeout=10) as client:
    for wire in json.load(open(sys.argv[1])):
        url = base.replace("://", "://" + wire["userinfo"] + "@", 1) if wire["userinfo"] else base
        client.request(wire["method"], url + wire["path"], headers=wire["headers"],
                       content=base64.b64decode(wire["body"])).read()
"""


def test_no_plant_reaches_disk_through_runreplay_record(vendor: str, tmp_path: Path) -> None:
    wires = [*(c.wire for c in CASES), _PUBLIC_CASE]
    specs = [
        {"method": w.method, "path": w.path, "headers": w.headers, "body": _b64(w.body), "userinfo": w.userinfo}
        for w in wires
    ]
    (tmp_path / "wires.json").write_text(json.dumps(specs))
    (tmp_path / "send.py").write_text(_SCRIPT)
    path = tmp_path / "recorded.json"
    result = subprocess.run(
        [sys.executable, "-m", "runreplay.cli", "record", "--cassette", str(path), "--", sys.executable, *SEND],
        env={**os.environ, "BASE": vendor},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1: schema findings in made-up replies
    assert len(load(path).interactions) == len(wires)
    _assert_clean(path)


# ---------------------------------------------------------------------------- scrub --check on hand-made cassettes


def _handmade(case: Case) -> Interaction:
    wire = case.wire
    headers = Headers(wire.headers)
    url = wire.url("https://api.example.com")
    status, reply_headers, reply = case.reply
    return Interaction(
        Request(wire.method, url, headers, body_from_wire(wire.body, headers)),
        Response(status, Headers(reply_headers), body_from_wire(reply, Headers(reply_headers))),
    )


def _stored_compressed(plant: Plant, encoding: str) -> Interaction:
    """As older recordings stored a compressed request body: binary, still compressed."""
    raw = _json_bytes({"input": dict([plant.pair()])})
    packed = gzip.compress(raw, mtime=3) if encoding == "gzip" else zlib.compress(raw)
    request = Request("POST", "https://api.example.com/v1/responses", Headers(), Body.binary(packed))
    return Interaction(request, Response(200, Headers(), Body.json({"ok": True})))


def test_check_finds_every_plant_in_hand_made_cassettes(tmp_path: Path) -> None:
    interactions = [_handmade(case) for case in CASES]
    labels = [f"{c.plant.shape}@{c.where}" for c in CASES]
    for plant in PLANTS:
        for encoding in ("gzip", "deflate"):
            interactions.append(_stored_compressed(plant, encoding))
            labels.append(f"{plant.shape}@stored_{encoding}")
    path = save(Cassette(interactions), tmp_path / "corpus.json")
    documents = []  # meta and timelines: one cassette per plant
    for plant in PLANTS:
        name, value = plant.pair()
        clean = Interaction(Request("GET", "https://api.example.com/v1/models"), Response(200))
        doc = Cassette([clean], meta={"note": {name: value}}, timelines=[{"key": "run_1", "phases": [{name: value}]}])
        documents.append(save(doc, tmp_path / "documents" / f"{plant.shape}.json"))

    runner = CliRunner()
    result = runner.invoke(main, ["scrub", "--check", str(tmp_path)])
    assert result.exit_code == 1
    found = {int(n) for n in re.findall(r"corpus\.json: interaction (\d+) at", result.output)}
    missed = [labels[i] for i in range(len(interactions)) if i not in found]
    assert not missed, f"--check missed {len(missed)} of {len(interactions)}: {missed}"
    for document in documents:
        assert f"{document}: at $.meta.note" in result.output, document.name
        assert f"{document}: at $.timelines[0].phases[0]" in result.output, document.name
    for plant in PLANTS:  # never a whole secret in the report
        assert plant.secret not in result.output and plant.secret[:12] not in result.output

    assert runner.invoke(main, ["scrub", str(tmp_path)]).exit_code == 0
    clean = runner.invoke(main, ["scrub", "--check", str(tmp_path)])
    assert clean.exit_code == 0, clean.output[-3000:]
    for file in [path, *documents]:
        assert not leaks(file.read_text(), PLANTS), file.name
    assert runner.invoke(main, ["scrub", str(tmp_path)]).exit_code == 0
    assert "scrubbed 0 of" in runner.invoke(main, ["scrub", str(tmp_path)]).output, "scrubbing is idempotent"


# ---------------------------------------------------------------------------- no false positives

REPOSITORY_CASSETTES = sorted((ROOT / "cassettes").rglob("*.json"))
REAL_TRAFFIC = [
    *sorted(
        p
        for p in TRAFFIC.rglob("*")
        if p.suffix in (".yaml", ".yml", ".json") and p.parent.name.startswith(("openai", "azure"))
    ),
    ROOT / "tests" / "data" / "openai_run_poll_stream.har",
]
#: What real recordings hold in clear in the headers that carry secrets by name: Cloudflare
#: cookies and OpenAI organization and project ids. Reported, and scrubbed by `runreplay import`.
REAL_VALUES_IN_SECRET_HEADERS = {
    "secret header cookie",
    "secret header set-cookie",
    "secret header openai-organization",
    "secret header openai-project",
}


@pytest.mark.parametrize("path", REPOSITORY_CASSETTES, ids=lambda p: p.name)
def test_no_false_positive_on_the_repository_cassettes(path: Path) -> None:
    cassette = load(path)
    assert find_secrets(cassette) == []
    before = json.dumps(cassette.to_json(), sort_keys=True)
    assert json.dumps(Scrubber().cassette(cassette).to_json(), sort_keys=True) == before


@pytest.mark.filterwarnings("ignore::runreplay.SanitizedIdWarning")  # the relinked run ids: tested elsewhere
def test_no_false_positive_on_real_traffic() -> None:
    """Ids, UUIDs, hashes, base64 images and the recorders' placeholders (Sanitized, REDACTED,
    <OPENAI_API_KEY>) are never flagged; only real cookies and organization ids are."""
    assert len(REAL_TRAFFIC) > 20
    flagged = []
    for path in REAL_TRAFFIC:
        for finding in find_secrets(import_file(path)):
            if finding.kind not in REAL_VALUES_IN_SECRET_HEADERS:
                flagged.append(f"{path.name}: {finding}")
    assert flagged == []


def test_ids_hashes_uuids_and_images_are_not_secrets() -> None:
    png = _b64(b"\x89PNG\r\n\x1a\n" + random.Random(5).randbytes(4000))
    values = {
        "ids": ["run_abc123DEF456ghi789", "asst_Q7v2Lr8Xw9Vb4Nc7Md1Fg6Hj", "call_01234567abcdef", "resp_" + "a1" * 24],
        "coze": ["7350000000000000123", 7486349017620906024, "conv_7486349017620906024"],
        "uuids": ["3f2b8c1e-9d4a-4e7b-8f6c-2a1b3c4d5e6f", "3F2B8C1E9D4A4E7B8F6C2A1B3C4D5E6F"],
        "hashes": [hashlib.sha256(b"").hexdigest(), hashlib.md5(b"").hexdigest(), hashlib.sha1(b"x").hexdigest()],
        "image": f"data:image/png;base64,{png}",
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19, "max_tokens": 1000},
        "logprobs": [{"token": "Hello", "logprob": -0.01, "bytes": [72]}],
        "page": {"next_page_token": "CiAKGjBpNDd2Nmp2Zml2cXAxOTd2", "token_type": "bearer"},
        "prose": "The token count was high; the password field is required; pass the secret sauce.",
    }
    request = Request("POST", "https://api.openai.com/v1/threads/thread_abc/runs?limit=20&after=msg_abc123")
    cassette = Cassette([Interaction(request, Response(200, Headers(), Body.json(values)))])
    assert find_secrets(cassette) == []
    assert Scrubber().cassette(cassette).interactions[0].response.body.value == values
