"""Scrubbing: secrets never reach disk, and scrubbed values keep linking.

A scrubbed value is replaced by a **pseudonym** derived from the value itself
(``scrubbed-<kind>-<10 hex digits>``), so it is the same everywhere in a cassette, across
cassettes, and at replay time: runreplay scrubs each replayed request with the same rules
before matching it, and the pseudonym it computes equals the recorded one. The digest is
a salted SHA-256; for low-entropy values (user ids, emails) set a private salt through
the environment variable named by ``salt_env`` so the pseudonyms cannot be reversed by
guessing.

What is scrubbed (the rules are :mod:`runreplay.scrub_rules`):

- anywhere (URLs, headers, bodies, SSE events, tool-call arguments and outputs, meta and
  timelines): substrings with a known secret shape, ``name=value`` / ``"name": "value"``
  pairs whose name says secret, URL userinfo passwords and, when ``high_entropy`` is on,
  long random-looking strings;
- values named as secrets: headers (Authorization keeps its scheme; cookies keep their
  names), query parameters and form fields, JSON keys;
- binary bodies: as text when they are text-like, else each secret is overwritten with
  ``scrubbed-***...`` of its own length (the body keeps its length); gzip and zlib bodies
  are scanned decompressed and compressed again;
- the ids after configured path segments (``path_ids``: ``/subscriptions/<id>``), in URLs and
  in any text, pseudonymised from the id lower-cased (Azure ids ignore case);
- the values at configured JSON paths (``$..user_id`` at any depth, ``$.meta.email`` from
  the top of a body or an event's data, ``[*]`` for any key or index; the syntax of
  :mod:`runreplay._jsonpath`), and every other occurrence of those values.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, quote, unquote_plus, urlunsplit

from runreplay._json import is_utf8
from runreplay._jsonpath import join_index, join_key, split, within_body
from runreplay.cassette import Body, BodyKind, Cassette, Headers, Interaction, Request, split_url
from runreplay.scrub_rules import (
    HIGH_ENTROPY,
    PSEUDONYM,
    VALUE_CAP,
    Compiled,
    ScrubRules,
    is_phrase,
    is_placeholder,
    kind_of,
    plausible,
    secret_name,
)

#: Bodies decompressed for scanning stop here (a larger one is scanned as it is stored).
_INFLATE_LIMIT = 64 * 1024 * 1024
#: Values found by name or by a text rule are replaced elsewhere too only from this length
#: on: a short password ("admin") would otherwise be replaced inside every word holding it.
_LEARN_FROM = 8
_SCHEMES = ("bearer", "basic", "token")
_COOKIES = ("cookie", "set-cookie", "setcookie", "set_cookie")

# ---------------------------------------------------------------------------- the scrubber


class Scrubber:
    """Applies rules to requests, responses and whole cassettes, with stable pseudonyms.

    ``learn=False`` leaves ``known`` empty: each value is judged on its own (what
    :func:`find_secrets` needs).
    """

    def __init__(self, rules: ScrubRules | None = None, *, learn: bool = True) -> None:
        self.rules = rules or ScrubRules()
        self._salt = os.environ.get(self.rules.salt_env, "runreplay").encode("utf-8")
        self._paths = self.rules.compiled_paths
        #: Values scrubbed so far (value -> pseudonym): replaced wherever else they appear.
        self.known: dict[str, str] = {}
        #: Grows whenever ``known`` changes, so callers can tell when a cached scrub is stale.
        self.version = 0
        #: When a list: (kind, value) of every value replaced (what :func:`find_secrets` reports).
        self.found: list[tuple[str, str]] | None = None
        self._learn = learn
        #: Inside an opaque binary body: secrets keep their length (see :func:`_masked`).
        self._mask = False

    def pseudonym(self, value: str, kind: str, *, learn: bool = True) -> str:
        if PSEUDONYM.fullmatch(value):
            return value
        digest = hashlib.sha256(self._salt + b"\0" + value.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        made = f"scrubbed-{kind}-{digest}"
        if self.found is not None:
            self.found.append((kind, value))
        if learn and self._learn and len(value) >= 4 and self.known.get(value) != made:
            self.known[value] = made
            self.version += 1
        return made

    def _replace(self, secret: str, kind: str, *, learn: bool = True) -> str:
        made = self.pseudonym(secret, kind, learn=learn)
        return _masked(secret) if self._mask and made != secret else made

    # -- strings
    def text(self, value: str) -> str:
        value = self._shapes(value)
        return self._known(value) if self.known else value

    def _shapes(self, value: str) -> str:
        """``value`` with what the rules recognise in it replaced."""
        rules = self.rules
        shapes = rules.candidates(value)
        if shapes:
            before = value
            for shape in shapes:
                value = self._apply(shape, value)
            if value == before and rules.all_have_literals:
                rules.remember_clean(value)
        if rules.path_id_regex is not None:
            value = rules.path_id_regex.sub(self._path_id, value)
        if rules.high_entropy:
            value = HIGH_ENTROPY.sub(
                lambda m: self._replace(m.group(0), "secret") if _entropy(m.group(0)) > 4.0 else m.group(0), value
            )
        return value

    def _path_id(self, match: re.Match[str]) -> str:
        """``subscriptions/<id>`` with the id a pseudonym of the segment's kind. Azure ids ignore
        case, so the pseudonym is made from the id lower-cased; the id as found is learnt, so it
        is replaced where it stands alone (``"subscriptionId": "..."``) too."""
        name, value = match.group("k"), match.group("s")
        if value.startswith("scrubbed-") or is_placeholder(value) or not value.strip("0-"):
            return match.group(0)  # a recorder's placeholder (``00000``, a zero UUID) links nothing
        made = self.pseudonym(value.lower(), kind_of(name), learn=False)
        if self._mask:
            made = _masked(value)
        elif self._learn and len(value) >= _LEARN_FROM and self.known.get(value) != made:
            self.known[value] = made
            self.version += 1
        return f"{name}/{made}"

    def _known(self, value: str) -> str:
        """``value`` with the secrets learnt elsewhere replaced."""
        for secret, made in self.known.items():
            if secret in value:
                value = value.replace(secret, _masked(secret) if self._mask else made)
        return value

    def _named_text(self, value: str, name: str) -> str:
        """A value under ``name``: the rules, then the name (so the pseudonym a name gives does not
        depend on where else the value was seen), then the values learnt elsewhere."""
        kind = secret_name(name)
        value = self._shapes(value)
        if kind is not None:
            value = self._named(value, kind, name)
        return self._known(value) if self.known else value

    def _apply(self, shape: Compiled, value: str) -> str:
        """``value`` with every secret ``shape`` finds replaced. The secret may lie past the match
        (in a lookahead), so matches are walked rather than substituted."""
        out: list[str] = []
        done = 0  # ``value`` is copied to ``out`` up to here
        search, size = shape.regex.search, len(value)
        match = search(value)
        while match is not None:
            # Search on from the end of the match, or of the secret replaced (never inside it).
            after = max(match.end(), match.start() + 1)
            secret, start, end = match.group(0), match.start(), match.end()
            if shape.groups:
                group = next((g for g in shape.groups if match.group(g) is not None), None)
                if group is None:
                    match = search(value, after) if after <= size else None
                    continue
                secret, start, end = match.group(group), match.start(group), match.end(group)
            kind: str | None = shape.kind
            if start < done or not secret or secret.startswith("scrubbed-"):
                kind = None
            elif shape.check is not None:
                decided = shape.check(match, secret)
                kind = None if decided is None else decided or shape.kind
            if kind is not None:
                if len(secret) >= VALUE_CAP:  # a long value read only in part: scrub the rest of its run
                    end = _RUN.match(value, end).end()  # type: ignore[union-attr]
                    secret = value[start:end]
                out.append(value[done:start])
                hashed = _unquote(secret) if shape.decoded else secret
                made = self._replace(hashed, kind, learn=len(secret) >= _LEARN_FROM)
                out.append(_masked(secret) if self._mask else made)  # masked: as long as what it replaces
                done = end
                after = max(after, end)
            match = search(value, after) if after <= size else None
        if not out:
            return value
        out.append(value[done:])
        return "".join(out)

    def _named(self, value: str, kind: str, name: str) -> str:
        """``value``, named as a secret by ``name`` (a JSON key, header, parameter), scrubbed whole:
        an auth scheme (``Bearer``) and cookie names are kept; placeholders and values that
        already hold a pseudonym are left."""
        if not plausible(value) or PSEUDONYM.search(value):
            return value
        if name.lower() in _COOKIES and "=" in value:
            return _scrub_cookie(value, self._cookie, every_pair=name.lower() == "cookie")
        scheme, sep, rest = value.partition(" ")
        if sep and scheme.lower() in _SCHEMES and rest.strip():
            return value if is_placeholder(rest) else f"{scheme} {self._replace(rest, kind)}"
        return self._replace(value, kind, learn=len(value) >= _LEARN_FROM)

    def _cookie(self, value: str) -> str:
        return value if is_placeholder(value) or PSEUDONYM.fullmatch(value) else self._replace(value, "cookie")

    def json(self, value: Any) -> Any:
        value = self._json_paths(value)
        return self._walk(value, None)

    def _walk(self, value: Any, key: str | None) -> Any:
        if isinstance(value, str):
            return self._leaf(value, key)
        if isinstance(value, list):
            return [self._walk(v, key) for v in value]
        if isinstance(value, dict):
            # A key can hold a secret too (a map from tokens to what they grant): the shortest
            # shape is 16 characters. A log-probability's "token" is no secret.
            return {(k if len(k) < 16 else self.text(k)): self._walk(v, _key(k, value)) for k, v in value.items()}
        return value

    def _leaf(self, value: str, key: str | None) -> str:
        """A string in JSON (a body, an SSE event's data, meta), under ``key``."""
        return self.text(value) if key is None else self._named_text(value, key)

    def _json_paths(self, value: Any) -> Any:
        for path in self._paths:
            value = path.replace(value, self._at_path)
        return value

    def _at_path(self, leaf: Any, name: str | None) -> Any:
        """A value a configured path names: strings and numbers become pseudonyms of the kind
        its key says; objects, lists, booleans and null are left as they are."""
        if isinstance(leaf, (str, int)) and not isinstance(leaf, bool):
            return self.pseudonym(str(leaf), kind_of(name or "value"))
        return leaf

    # -- HTTP parts
    def headers(self, headers: Headers) -> Headers:
        return Headers([(name, self._header(name, value)) for name, value in headers.items()])

    def _header(self, name: str, value: str) -> str:
        if name in self.rules.headers:
            return self._header_value(name, value)
        if secret_name(name) is None or is_phrase(value):
            return self.text(value)
        return self._named_text(value, name)

    def _header_value(self, name: str, value: str) -> str:
        if is_placeholder(value) or is_phrase(value):
            return value
        scheme, sep, rest = value.partition(" ")
        if sep and scheme.lower() in _SCHEMES and rest:
            return value if is_placeholder(rest) else f"{scheme} {self.pseudonym(rest, kind_of(name))}"
        if name in ("cookie", "set-cookie") and "=" in value:
            return _scrub_cookie(value, self._cookie, every_pair=name == "cookie")
        return self.pseudonym(value, kind_of(name))

    def url(self, url: str, parts: SplitResult | None = None) -> str:
        """``url`` scrubbed (``parts``: the URL already split, as a request carries it)."""
        parts = parts or split_url(url)
        netloc = parts.netloc
        if not parts.query and not parts.fragment and "@" not in netloc:
            path = self.text(parts.path)
            # Most URLs hold nothing to scrub: hand them back as they are, without re-joining.
            return url if path == parts.path else urlunsplit(parts._replace(path=path))
        if "@" in netloc:
            netloc = self._userinfo(netloc)
        path = self.text(parts.path)
        query = self._pairs(parts.query) if parts.query else parts.query
        fragment = self._pairs(parts.fragment) if parts.fragment else parts.fragment
        if (netloc, path, query, fragment) == (parts.netloc, parts.path, parts.query, parts.fragment):
            return url
        return urlunsplit((parts.scheme, netloc, path, query, fragment))

    def _userinfo(self, netloc: str) -> str:
        userinfo, _, host = netloc.rpartition("@")
        user, sep, password = userinfo.partition(":")
        user = self.text(user)
        if sep:
            scrubbed = self._shapes(password)
            if scrubbed == password and plausible(password):
                scrubbed = self._replace(password, "password", learn=len(password) >= _LEARN_FROM)
            password = self._known(scrubbed)
        return f"{user}{sep}{password}@{host}"

    def _pairs(self, raw: str) -> str:
        """A query string (or a fragment holding one) with each secret value scrubbed; the other
        pairs are kept byte for byte."""
        if "=" not in raw:
            return self.text(raw)
        out = []
        for piece in raw.split("&"):
            name, sep, value = piece.partition("=")
            if sep and value:
                decoded = _unquote(value)
                scrubbed = self._param(_unquote(name), decoded)
                if scrubbed != decoded:
                    piece = f"{name}={quote(scrubbed, safe='')}"
            out.append(piece)
        return "&".join(out)

    def _param(self, name: str, value: str) -> str:
        if name.lower() in self.rules.query_params:
            return value if is_placeholder(value) else self.pseudonym(value, kind_of(name))
        return self._named_text(value, name)

    def body(self, body: Body) -> Body:
        if body.kind is BodyKind.JSON:
            return Body(BodyKind.JSON, self.json(body.value), decoded_from=body.decoded_from)
        if body.kind is BodyKind.TEXT:
            return Body(BodyKind.TEXT, self.text_body(body.value), decoded_from=body.decoded_from)
        if body.kind is BodyKind.SSE:
            for event in body.events:
                if event.data_is_json:
                    event.data = self.json(event.data)
                elif isinstance(event.data, str):
                    event.data = self.text(event.data)
                if event.event:
                    event.event = self.text(event.event)
                if event.id:
                    event.id = self.text(event.id)
                if event.comments:
                    event.comments = [self.text(c) for c in event.comments]
                if event.raw:
                    event.raw = self.text(event.raw)
            return body
        if body.kind is BodyKind.BINARY:
            data = bytes(body.value)
            scrubbed = self.binary(data)
            if scrubbed != data:
                return Body(BodyKind.BINARY, scrubbed, decoded_from=body.decoded_from)
        return body

    def text_body(self, value: str) -> str:
        """A text body; a form (``a=1&b=2``) is scrubbed pair by pair, its values decoded."""
        if "=" in value and _FORM.fullmatch(value):
            return self._pairs(value)
        return self.text(value)

    def binary(self, data: bytes) -> bytes:
        """Bytes with their secrets scrubbed: as text when they are text-like, else each secret is
        overwritten by ``scrubbed-***...`` of the same length (length-prefixed formats keep their framing).
        gzip and zlib data are scanned decompressed, and compressed again when scrubbed."""
        inflated = _inflate(data)
        if inflated is not None:
            plain, how = inflated
            scrubbed = self._bytes(plain)
            if scrubbed == plain:
                return data
            return gzip.compress(scrubbed, mtime=0) if how == "gzip" else zlib.compress(scrubbed)
        return self._bytes(data)

    def _bytes(self, data: bytes) -> bytes:
        text = data.decode("latin-1")  # one character per byte: every byte outside a secret is kept
        self._mask = not _text_like(data)
        try:
            scrubbed = self.text(text)
        finally:
            self._mask = False
        return data if scrubbed == text else scrubbed.encode("latin-1")

    def for_matching(self, request: Request) -> Request:
        """What matching compares (URL and body) scrubbed; headers never match, so skip them.

        The URL first, as its path ids (``path_ids``) may stand alone in the body; then again
        when the body taught a value (a configured JSON path's) that the URL may hold too."""
        url = self.url(request.url, request.parts)
        learnt = self.version
        body = self.body(request.body)
        if self.version != learnt:
            url = self.url(request.url, request.parts)
        return request.replace(url=url, body=body)

    def request(self, request: Request) -> Request:
        # Bodies first: JSON paths there teach the scrubber values that may also sit in the URL.
        body = self.body(request.body)
        return request.replace(
            url=self.url(request.url, request.parts), headers=self.headers(request.headers), body=body
        )

    def interaction(self, interaction: Interaction) -> Interaction:
        interaction.request = self.request(interaction.request)
        response = interaction.response
        response.body = self.body(response.body)
        response.headers = self.headers(response.headers)
        if response.reason:
            response.reason = self.text(response.reason)
        return interaction

    def interactions(self, items: list[Interaction]) -> None:
        """Scrub in place, twice: the second pass replaces values learnt from later ones."""
        for _ in range(2):
            for interaction in items:
                self.interaction(interaction)

    def cassette(self, cassette: Cassette) -> Cassette:
        """A whole cassette in place: its interactions, its meta and its timelines."""
        self.interactions(cassette.interactions)
        cassette.meta = self._walk(cassette.meta, None)
        cassette.timelines = self._walk(cassette.timelines, None)
        return cassette


def _masked(secret: str) -> str:
    """What a secret in an opaque binary body becomes: as long as it was, marked as scrubbed (so
    replay knows to scrub requests before matching them) when it is long enough."""
    size = len(secret)
    return "scrubbed-" + "*" * (size - 9) if size >= 12 else "*" * size


def _key(key: str, parent: dict[str, Any]) -> str | None:
    """The name a JSON value is judged by: its key, except a log-probability's ``token``."""
    return None if key == "token" and "logprob" in parent else key


def _unquote(text: str) -> str:
    return unquote_plus(text) if "%" in text or "+" in text else text


_RUN = re.compile(r"[^\s\"'\\]*")
#: A form body: ``name=value`` pairs joined by ``&`` (written so that it cannot backtrack).
_FORM = re.compile(r"[^=&\s]+=[^&\s]*(?:&[^=&\s]*(?:=[^&\s]*)?)*")
_CONTROL = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])
_HIGH = bytes(range(128, 256))


def _text_like(data: bytes) -> bool:
    """Mostly printable: at most 1% control bytes and a quarter of bytes above ASCII."""
    size = len(data)
    controls = size - len(data.translate(None, _CONTROL))
    high = size - len(data.translate(None, _HIGH))
    return controls * 100 <= size and high * 4 <= size


def _inflate(data: bytes) -> tuple[bytes, str] | None:
    """gzip or zlib data decompressed (with which), or None when it is neither or too large."""
    if data[:2] == b"\x1f\x8b":
        wbits, how = 31, "gzip"
    elif len(data) > 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and (data[0] * 256 + data[1]) % 31 == 0:
        wbits, how = 15, "deflate"
    else:
        return None
    try:
        inflater = zlib.decompressobj(wbits)
        plain = inflater.decompress(data, _INFLATE_LIMIT)
    except zlib.error:
        return None
    if inflater.unconsumed_tail or not inflater.eof:
        return None
    return plain, how


def _entropy(text: str) -> float:
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _scrub_cookie(value: str, replace: Callable[[str], str], *, every_pair: bool) -> str:
    """Cookie: every ``name=value`` pair is a cookie; Set-Cookie: only the first, then attributes."""
    parts = []
    for index, part in enumerate(value.split(";")):
        name, sep, content = part.partition("=")
        if sep and content and (every_pair or index == 0):
            parts.append(f"{name}={replace(content)}")
        else:
            parts.append(part)
    return ";".join(parts)


# ---------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Finding:
    path: Path | None
    #: The interaction's index; -1 for the cassette's meta and timelines.
    interaction: int
    location: str
    kind: str
    excerpt: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        if self.interaction < 0:
            return f"{where}at {self.location}: {self.kind} {self.excerpt}"
        return f"{where}interaction {self.interaction} at {self.location}: {self.kind} {self.excerpt}"


def find_secrets(cassette: Cassette, rules: ScrubRules | None = None) -> list[Finding]:
    """Every secret left in a cassette, with its JSON path: what :class:`Scrubber` would replace."""
    probe = _Probe(Scrubber(rules or ScrubRules(), learn=False))
    findings: list[Finding] = []
    for index, interaction in enumerate(cassette.interactions):
        for location, kind, secret in probe.interaction(interaction, f"$.interactions[{index}]"):
            findings.append(Finding(cassette.path, index, location, kind, _excerpt(secret)))
    for location, kind, secret in probe.document(cassette.meta, cassette.timelines):
        findings.append(Finding(cassette.path, -1, location, kind, _excerpt(secret)))
    return findings


class _Probe:
    """Runs a scrubber over each stored value and reports what it would replace, where."""

    def __init__(self, scrubber: Scrubber) -> None:
        self.scrubber = scrubber
        scrubber.found = []
        self.out: list[tuple[str, str, str]] = []

    def _take(self, where: str, label: str = "{kind}") -> None:
        """Report what the scrubber replaced since the last call, at ``where`` (``label``: how to
        name it, ``{kind}`` standing for the kind)."""
        found = self.scrubber.found
        if found:
            for kind, secret in found:
                self.out.append((where, label.replace("{kind}", kind), secret))
            found.clear()

    def interaction(self, interaction: Interaction, base: str) -> list[tuple[str, str, str]]:
        self.out = []
        scrubber = self.scrubber
        request, response = interaction.request, interaction.response
        scrubber.url(request.url, request.parts)
        self._take(f"{base}.request.url")
        for side, headers, body in (
            ("request", request.headers, request.body),
            ("response", response.headers, response.body),
        ):
            self._headers(headers, f"{base}.{side}.headers")
            self._body(body, f"{base}.{side}.body")
        if response.reason:
            scrubber.text(response.reason)
            self._take(f"{base}.response.reason")
        return self.out

    def document(self, meta: Any, timelines: Any) -> list[tuple[str, str, str]]:
        self.out = []
        self._json(meta, "$.meta", None)
        self._json(timelines, "$.timelines", None)
        return self.out

    def _headers(self, headers: Headers, where: str) -> None:
        items = headers.items()
        repeated = {name for name, n in Counter(name for name, _ in items).items() if n > 1}
        seen: Counter[str] = Counter()
        for name, value in items:
            location = join_key(where, name)
            if name in repeated:
                location = join_index(location, seen[name])
                seen[name] += 1
            self.scrubber._header(name, value)
            self._take(location, f"secret header {name}" if name in self.scrubber.rules.headers else "{kind}")

    def _body(self, body: Body, where: str) -> None:
        scrubber = self.scrubber
        if body.kind is BodyKind.JSON:
            self._json(body.value, f"{where}.json", None)
        elif body.kind is BodyKind.TEXT:
            scrubber.text_body(body.value)
            self._take(f"{where}.text")
        elif body.kind is BodyKind.BINARY:
            data = bytes(body.value)
            scrubber.binary(data)
            inflated = _inflate(data)
            plain = inflated[0] if inflated else data
            how = f"{inflated[1]}-compressed " if inflated else ""
            shape = "text-like" if _text_like(plain) else "opaque"
            self._take(f"{where}.base64", f"{{kind}} in {how}{shape} binary body")
        elif body.kind is BodyKind.SSE:
            for index, event in enumerate(body.events):
                at = f"{where}.sse.events[{index}]"
                if event.data_is_json:
                    self._json(event.data, f"{at}.data", None)
                elif isinstance(event.data, str):
                    self._leaf(event.data, f"{at}.data_text", None)
                for name, value in (("event", event.event), ("id", event.id)):
                    if value:
                        self._leaf(value, f"{at}.{name}", None)
                for n, comment in enumerate(event.comments):
                    self._leaf(comment, f"{at}.comments[{n}]", None)
                if event.raw:
                    scrubber.text(event.raw)
                    self._take(f"{at}.raw" if is_utf8(event.raw) else f"{at}.raw_b64")

    def _json(self, value: Any, where: str, key: str | None) -> None:
        if isinstance(value, str):
            self._leaf(value, where, key)
        elif isinstance(value, dict):
            for k, v in value.items():
                if len(k) >= 16:
                    self.scrubber.text(k)
                    self._take(join_key(where, k), "{kind} in a key")
                self._json(v, join_key(where, k), _key(k, value))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._json(item, join_index(where, index), key)
        elif self.scrubber._paths and isinstance(value, (int, float)) and not isinstance(value, bool):
            self._configured(str(value), where)

    def _leaf(self, value: str, where: str, key: str | None) -> None:
        self.scrubber._leaf(value, key)
        self._take(where)
        if self.scrubber._paths:
            self._configured(value, where)

    def _configured(self, value: str, where: str) -> None:
        if PSEUDONYM.fullmatch(value):
            return
        inside = within_body(split(where))  # configured paths start at a body or an event's data
        if inside is None:
            return
        for path in self.scrubber._paths:
            if path.matches(inside):
                self.out.append((where, f"value at configured path {path}", value))


def _excerpt(value: str) -> str:
    # Never print a secret in full, not even in a report: at most its first six and last two
    # characters, and never more than a third of it.
    size = len(value)
    head, tail = min(6, size // 3), min(2, size // 8)
    return repr(value[:head] + "..." + (value[size - tail :] if tail else ""))
