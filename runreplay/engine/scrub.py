"""Scrubbing: secrets never reach disk, and scrubbed values keep linking.

A scrubbed value is replaced by a **pseudonym** derived from the value itself
(``scrubbed-<kind>-<10 hex digits>``), so it is the same everywhere in a cassette, across
cassettes, and at replay time: runreplay scrubs each replayed request with the same rules
before matching it, and the pseudonym it computes equals the recorded one. The digest is
a salted SHA-256; for low-entropy values (user ids, emails) set a private salt through
the environment variable named by ``salt_env`` so the pseudonyms cannot be reversed by
guessing.

What is scrubbed:

- header values: Authorization (the scheme is kept), api-key, cookies, OpenAI
  organization/project, and configured headers;
- query parameters that carry tokens;
- anywhere in bodies, URLs and SSE event data: substrings with a known secret shape
  (OpenAI ``sk-...``, Coze ``pat_...``/``sat_...``, JWTs, bearer tokens, AWS access
  keys, and, when ``high_entropy`` is on, long random-looking strings);
- the values at configured JSON paths (``user_id`` anywhere, ``meta.email`` from the
  root, ``*`` for any key or index), and every other occurrence of those values.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from runreplay.cassette import Body, BodyKind, Cassette, Headers, Interaction, Request, split_url
from runreplay.scrub_rules import HIGH_ENTROPY, PSEUDONYM, ScrubRules

# ---------------------------------------------------------------------------- the scrubber


class Scrubber:
    """Applies rules to requests, responses and whole cassettes, with stable pseudonyms."""

    def __init__(self, rules: ScrubRules | None = None) -> None:
        self.rules = rules or ScrubRules()
        self._salt = os.environ.get(self.rules.salt_env, "runreplay").encode("utf-8")
        self._paths = [_split_path(p) for p in self.rules.json_paths]
        #: Values scrubbed so far (value -> pseudonym): replaced wherever else they appear.
        self.known: dict[str, str] = {}
        #: Grows whenever ``known`` changes, so callers can tell when a cached scrub is stale.
        self.version = 0

    def pseudonym(self, value: str, kind: str) -> str:
        if PSEUDONYM.fullmatch(value):
            return value
        digest = hashlib.sha256(self._salt + b"\0" + value.encode("utf-8")).hexdigest()[:10]
        made = f"scrubbed-{kind}-{digest}"
        if len(value) >= 4 and self.known.get(value) != made:
            self.known[value] = made
            self.version += 1
        return made

    # -- strings
    def text(self, value: str) -> str:
        for kind, rx in self.rules.candidates(value):
            value = rx.sub(lambda m, kind=kind: self.pseudonym(m.group(0), kind), value)  # type: ignore[misc]
        if self.rules.high_entropy:
            value = HIGH_ENTROPY.sub(
                lambda m: self.pseudonym(m.group(0), "secret") if _entropy(m.group(0)) > 4.0 else m.group(0), value
            )
        for secret, made in self.known.items():
            if secret in value:
                value = value.replace(secret, made)
        return value

    def json(self, value: Any) -> Any:
        value = self._json_paths(value)
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()}
        return value

    def _json_paths(self, value: Any) -> Any:
        for path in self._paths:
            value = _replace_at(value, path, lambda leaf, key: self.pseudonym(str(leaf), _kind(key)))
        return value

    # -- HTTP parts
    def headers(self, headers: Headers) -> Headers:
        out = []
        for name, value in headers.items():
            value = self._header_value(name, value) if name in self.rules.headers else self.text(value)
            out.append((name, value))
        return Headers(out)

    def _header_value(self, name: str, value: str) -> str:
        scheme, sep, rest = value.partition(" ")
        if sep and scheme.lower() in ("bearer", "basic", "token") and rest:
            return f"{scheme} {self.pseudonym(rest, _kind(name))}"
        if name in ("cookie", "set-cookie") and "=" in value:
            return _scrub_cookie(value, lambda v: self.pseudonym(v, "cookie"), every_pair=name == "cookie")
        return self.pseudonym(value, _kind(name))

    def url(self, url: str, parts: SplitResult | None = None) -> str:
        """``url`` scrubbed (``parts``: the URL already split, as a request carries it)."""
        parts = parts or split_url(url)
        if not parts.query:
            path = self.text(parts.path)
            # Most URLs hold nothing to scrub: hand them back as they are, without re-joining.
            return url if path == parts.path else urlunsplit(parts._replace(path=path))
        query = [
            (k, self.pseudonym(v, _kind(k)) if k.lower() in self.rules.query_params and v else self.text(v))
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        path = self.text(parts.path)
        rebuilt = urlencode(query, quote_via=quote, safe="") if parts.query else parts.query
        return urlunsplit((parts.scheme, parts.netloc, path, rebuilt, parts.fragment))

    def body(self, body: Body) -> Body:
        if body.kind is BodyKind.JSON:
            return Body(BodyKind.JSON, self.json(body.value), decoded_from=body.decoded_from)
        if body.kind is BodyKind.TEXT:
            return Body(BodyKind.TEXT, self.text(body.value), decoded_from=body.decoded_from)
        if body.kind is BodyKind.SSE:
            for event in body.events:
                if event.data_is_json:
                    event.data = self.json(event.data)
                elif isinstance(event.data, str):
                    event.data = self.text(event.data)
            return body
        return body

    def for_matching(self, request: Request) -> Request:
        """What matching compares (URL and body) scrubbed; headers never match, so skip them."""
        body = self.body(request.body)
        return request.replace(url=self.url(request.url, request.parts), body=body)

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
        return interaction

    def interactions(self, items: list[Interaction]) -> None:
        """Scrub in place, twice: the second pass replaces values learnt from later ones."""
        for _ in range(2):
            for interaction in items:
                self.interaction(interaction)

    def cassette(self, cassette: Cassette) -> Cassette:
        self.interactions(cassette.interactions)
        return cassette


def _kind(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "value"


def _entropy(text: str) -> float:
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _scrub_cookie(value: str, replace: Any, *, every_pair: bool) -> str:
    """Cookie: every ``name=value`` pair is a cookie; Set-Cookie: only the first, then attributes."""
    parts = []
    for index, part in enumerate(value.split(";")):
        name, sep, content = part.partition("=")
        if sep and content and (every_pair or index == 0):
            parts.append(f"{name}={replace(content)}")
        else:
            parts.append(part)
    return ";".join(parts)


def _split_path(path: str) -> tuple[bool, tuple[str, ...]]:
    """(anywhere, parts): a bare key matches at any depth, a dotted path from the root."""
    parts = tuple(path.removeprefix("$.").split("."))
    return len(parts) == 1 and parts[0] != "*", parts


def _replace_at(value: Any, spec: tuple[bool, tuple[str, ...]], make: Any) -> Any:
    anywhere, parts = spec
    if anywhere:
        return _replace_key_anywhere(value, parts[0], make)
    return _replace_path(value, parts, make)


def _replace_key_anywhere(value: Any, key: str, make: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                make(v, k)
                if k == key and isinstance(v, (str, int)) and not isinstance(v, bool)
                else _replace_key_anywhere(v, key, make)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_replace_key_anywhere(v, key, make) for v in value]
    return value


def _replace_path(value: Any, parts: tuple[str, ...], make: Any) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(value, dict):
        out = dict(value)
        for key in list(value) if head == "*" else [head] if head in value else []:
            leaf = value[key]
            if rest:
                out[key] = _replace_path(leaf, rest, make)
            elif isinstance(leaf, (str, int)) and not isinstance(leaf, bool):
                out[key] = make(leaf, key)
        return out
    if isinstance(value, list) and (head == "*" or head.isdigit()):
        items = list(value)
        for index in range(len(items)) if head == "*" else [int(head)]:
            if index < len(items):
                items[index] = _replace_path(items[index], rest, make) if rest else make(items[index], head)
        return items
    return value


# ---------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Finding:
    path: Path | None
    interaction: int
    location: str
    kind: str
    excerpt: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}interaction {self.interaction} at {self.location}: {self.kind} {self.excerpt}"


def find_secrets(cassette: Cassette, rules: ScrubRules | None = None) -> list[Finding]:
    """Every secret-shaped value left in a cassette, with its JSON path."""
    rules = rules or ScrubRules()
    scrubber = Scrubber(rules)
    findings: list[Finding] = []
    for index, interaction in enumerate(cassette.interactions):
        base = f"$.interactions[{index}]"
        for location, value in _strings(interaction.to_json(), base):
            for kind in _secret_kinds(value, location, rules, scrubber):
                findings.append(Finding(cassette.path, index, location, kind, _excerpt(value)))
    return findings


def _secret_kinds(value: str, location: str, rules: ScrubRules, scrubber: Scrubber) -> Iterator[str]:
    header = re.search(r"\.headers\.([^.\[]+)(?:\[\d+\])?$", location)
    if header and header.group(1) in rules.headers and not PSEUDONYM.search(value):
        yield f"secret header {header.group(1)}"
        return
    for kind, rx in rules.candidates(value):
        if rx.search(value):
            yield kind
    if rules.high_entropy and any(
        _entropy(m.group(0)) > 4.0 and not PSEUDONYM.fullmatch(m.group(0)) for m in HIGH_ENTROPY.finditer(value)
    ):
        yield "high-entropy string"
    if location.endswith(".url"):
        for key, val in parse_qsl(urlsplit(value).query, keep_blank_values=True):
            if key.lower() in rules.query_params and val and not PSEUDONYM.fullmatch(val):
                yield f"token in query parameter {key}"
    for anywhere, parts in scrubber._paths:
        if _path_matches(location, anywhere, parts) and not PSEUDONYM.fullmatch(value):
            yield f"value at configured path {'.'.join(parts)}"


def _path_matches(location: str, anywhere: bool, parts: tuple[str, ...]) -> bool:
    tail = re.sub(r"\[(\d+)\]", r".\1", location).split(".")
    if anywhere:
        return tail[-1] == parts[0]
    for anchor in ("json", "data"):
        if anchor in tail:
            rest = tail[tail.index(anchor) + 1 :]
            if len(rest) == len(parts) and all(p in ("*", r) for p, r in zip(parts, rest, strict=True)):
                return True
    return False


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield where, str(value)


def _excerpt(value: str) -> str:
    # Never print a secret in full, not even in a report.
    shown = value if len(value) <= 12 else value[:6] + "..." + value[-2:]
    return repr(shown)
