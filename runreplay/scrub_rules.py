"""Scrub rules: which values are secrets, read from ``[tool.runreplay.scrub]``.

The rules are configuration (see :class:`ScrubRules`); :mod:`runreplay.engine.scrub`
applies them. Kept apart so that options and checks can name the rules without the
scrubbing engine.

A value is a secret when it has a known **shape** (an OpenAI or GitHub key, a JWT, a PEM
private key, ...: :data:`SHAPES`), wherever it is, or when it is **named** as one: the
value of a header, query parameter, form field or JSON key whose name says so
(:func:`secret_name`: ``password``, ``client_secret``, ``x-auth-token``, ...), of a
``name=value`` / ``name: value`` pair in text, or the password of a URL's userinfo.
Placeholders that recorders put in place of secrets (``Sanitized``, ``<OPENAI_API_KEY>``,
``REDACTED``, ...) are not secrets (:func:`is_placeholder`).

The shapes are written for this project from the published formats of each vendor's
credentials; they follow the families that detect-secrets and gitleaks look for.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runreplay._jsonpath import JsonPath, parse_all
from runreplay.config import check_keys, find_pyproject, read_toml, tool_table
from runreplay.errors import ConfigError

PSEUDONYM = re.compile(r"scrubbed-[a-z0-9_]+-[0-9a-f]{10}")

# ---------------------------------------------------------------------------- names


def kind_of(name: str) -> str:
    """The pseudonym kind for a value named ``name`` (``X-Auth-Token`` -> ``x_auth_token``)."""
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "value"


#: Names (lower-cased, only letters and digits kept) whose value is a secret.
_SECRET_NAMES = frozenset(
    {
        "pass",
        "pwd",
        "auth",
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "session",
        "sessid",
        "phpsessid",
        "jsessionid",
        "aspnetsessionid",
        "privatekey",
        "credential",
        "credentials",
        "mfacode",
        "otp",
    }
)
#: ... or whose name ends with one of these.
_SECRET_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "secretaccesskey",
    "accountkey",
    "sharedkey",
    "sharedaccesskey",
    "subscriptionkey",
    "masterkey",
    "signingkey",
    "encryptionkey",
    "functionskey",
    "sessionid",
    "sessionkey",
    "authkey",
    "storagekey",
    "primarykey",
    "secondarykey",
    "credentials",
)
#: ... or that ends with "key" and names a vendor or a purpose (``AZURE_OPENAI_KEY``).
_KEY_OWNERS = ("azure", "openai", "aws", "api", "cognitive", "storage", "account", "anthropic", "coze", "google")
#: Names with such an ending that are not secrets: pagination cursors, tokenizer settings.
_NOT_SECRET_NAMES = frozenset(
    {
        "pagetoken",
        "nextpagetoken",
        "prevpagetoken",
        "previouspagetoken",
        "nexttoken",
        "continuationtoken",
        "paginationtoken",
        "synctoken",
        "cursortoken",
        "idempotencytoken",
        "bostoken",
        "eostoken",
        "padtoken",
        "unktoken",
        "septoken",
        "clstoken",
        "masktoken",
        "stoptoken",
        "maxtoken",
        "maxtokens",
        "lasttoken",
        "nosecret",
        "hassecret",
        "usesecret",
        "requiresecret",
        "ispassword",
        "haspassword",
        "requirespassword",
        "passwordrequired",
    }
)


@functools.lru_cache(maxsize=4096)
def secret_name(name: str) -> str | None:
    """The pseudonym kind when a value named ``name`` is a secret (``client_secret``, ``apiKey``,
    ``X-Auth-Token``, ``AWS_SECRET_ACCESS_KEY``), else None (``max_tokens``, ``page_token``)."""
    squashed = re.sub(r"[^a-z0-9]", "", name.lower())
    if not squashed or squashed in _NOT_SECRET_NAMES:
        return None
    if (
        squashed in _SECRET_NAMES
        or squashed.endswith(_SECRET_ENDINGS)
        or (squashed.endswith("key") and any(owner in squashed for owner in _KEY_OWNERS))
    ):
        return kind_of(re.sub(r"^[Xx][-_]", "", name))  # X-Client-Secret and client_secret: one kind
    return None


# ---------------------------------------------------------------------------- placeholders

_PLACEHOLDER = re.compile(
    r"""\s*(?:(?:bearer|basic|token)\s+)?
    (?:
        <[^<>]{0,80}>                       # <OPENAI_API_KEY>
      | \{\{[^{}]{0,80}\}\} | \$\{[^{}]{0,80}\}   # {{token}}  ${TOKEN}
      | \$[A-Za-z_][A-Za-z0-9_]{0,80}       # $OPENAI_API_KEY
      | %[A-Za-z_][A-Za-z0-9_]{0,80}%       # %API_KEY%
      | \*\$?[A-Za-z0-9_]{0,80}\*           # *$Access_Token*
      | (?:[a-z0-9]{1,10}[-_]){0,3}         # sk-REDACTED, sk-proj-xxxx
        \[?(?:sanitized|redacted|filtered|removed|hidden|masked|omitted|placeholder|dummy|fake|none|null
            |undefined|changeme|secret|password|token|api[_-]?key|your[-_ a-z0-9]{0,60}|x{3,}|\*{3,}|\.\.\.)\]?
      | (.)\1{3,}                          # xxxx, ****, 0000
    )\s*""",
    re.IGNORECASE | re.VERBOSE,
)


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is what recorders write in place of a secret (or empty)."""
    return not value.strip() or (len(value) <= 100 and _PLACEHOLDER.fullmatch(value) is not None)


def is_phrase(value: str) -> bool:
    """Words and spaces only (``My bearer token is safe``): what a credential header never holds."""
    words = value.split()
    return len(words) >= 3 and all(w.isalpha() for w in words)


def plausible(value: str) -> bool:
    """Whether a value found by its name can be a secret: not empty, scrubbed or a placeholder."""
    if len(value) < 3 or value.startswith("scrubbed-") or is_placeholder(value):
        return False
    return value.lower() not in ("true", "false", "null", "none", "undefined", "nil")


# ---------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Shape:
    """A secret shape: a regular expression, and what makes matching it worth trying."""

    kind: str
    pattern: str
    #: The value must hold one of these literals (case-sensitive) ...
    needles: tuple[str, ...] = ()
    #: ... or one of these (lower-case), in any case.
    folded: tuple[str, ...] = ()
    #: And, when given, one of these literals too.
    also: tuple[str, ...] = ()
    #: The named group that holds the secret (None: the whole match); groups named like it
    #: with a digit after (``s2``, ``s3``) are alternatives to it.
    group: str | None = None
    #: Decides on a match and the secret in it: None when it is not a secret after all, else
    #: the pseudonym kind ("" for the shape's own).
    check: Callable[[re.Match[str], str], str | None] | None = None
    #: ASCII word boundaries: a key right after a Chinese character or a byte of a binary body
    #: (read as Latin-1) still starts a word.
    flags: int = re.ASCII
    #: The pseudonym is made from the secret URL-decoded, as a query parameter's is, so a SAS
    #: signature in a body and the same one in a request's query get the same pseudonym.
    decoded: bool = False


def _scheme(match: re.Match[str], secret: str) -> str | None:
    """``Bearer x`` / ``Token x`` (16 characters or more, a digit among them) and ``Basic base64(user:password)``."""
    scheme = match.group("scheme").lower()
    if secret.startswith("scrubbed-") or is_placeholder(secret):
        return None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None
        return "basic_auth" if b":" in decoded else None
    return "bearer" if len(secret) >= 16 and any(c.isdigit() for c in secret) else None


def _sas(match: re.Match[str], secret: str) -> str | None:
    """A SAS parameter: its own name is the kind, as for the same parameter in a request's query."""
    return None if is_placeholder(secret) else match.group("k").lower()


def _userinfo(match: re.Match[str], secret: str) -> str | None:
    return "" if plausible(secret) else None


def _assignment(match: re.Match[str], secret: str) -> str | None:
    """``password=...``, ``"client_secret": "..."``, ``AWS_SECRET_ACCESS_KEY: ...`` in text."""
    name = match.group("k")
    kind = secret_name(name)
    if kind is None or not plausible(secret) or PSEUDONYM.search(secret):
        return None
    if secret.lower() in ("bearer", "basic", "token"):
        return None  # ``Authorization: Bearer x``: the scheme rule judges x
    bare = match.groupdict().get("s3")  # an unquoted value
    if bare is not None and match.string[match.end("s3") : match.end("s3") + 1] in ("(", "["):
        return None  # code: ``api_key = os.environ["KEY"]``, ``auth=TokenAuth(...)``
    if name == "token" and "logprob" in match.string[match.end() : match.end() + 300]:
        return None  # a log-probability's token, in JSON text
    return kind


_SEP = r"(?:[ +]|%20)"  # a space in a PEM header, also form- or URL-encoded
_PEM_LABEL = rf"-----BEGIN{_SEP}(?:[A-Z0-9]+{_SEP})*PRIVATE{_SEP}KEY(?:{_SEP}BLOCK)?-----"
_PEM_END = rf"-----END{_SEP}(?:[A-Z0-9]+{_SEP})*PRIVATE{_SEP}KEY(?:{_SEP}BLOCK)?-----"
#: A value found by its name is read up to this long (a longer one is scrubbed to the end of
#: its run of non-space characters).
VALUE_CAP = 2048
_KEYWORDS = ("pass", "pwd", "secret", "token", "key", "auth", "sess", "cookie", "cred", "otp", "mfa")

#: The built-in shapes, in the order they are applied: the whole match is the secret. The
#: first seven are kept as they were first written, so values they scrubbed keep their pseudonyms.
SHAPES: tuple[Shape, ...] = (
    Shape(
        "private_key",
        # The block's lines (base64, "Proc-Type: 4,ENCRYPTED" headers, escaped or encoded line
        # ends) up to its END line; a block cut short runs to the end of what can belong to it.
        rf"{_PEM_LABEL}(?:[A-Za-z0-9+/=\s\\%:,._]|-(?!----)){{0,65536}}(?:{_PEM_END})?"
        r"|PuTTY-User-Key-File-\d+:[A-Za-z0-9+/=\s\\%:,._-]{0,65536}",
        needles=("PRIVATE", "PuTTY-User-Key-File"),
    ),
    Shape("anthropic_key", r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}", needles=("sk-ant-",)),
    Shape("openai_key", r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", needles=("sk-",)),
    Shape("coze_token", r"\b(?:pat|sat)_[A-Za-z0-9]{20,}", needles=("pat_", "sat_")),
    Shape("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", needles=("eyJ",)),
    Shape("aws_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", needles=("AKIA", "ASIA", "ABIA", "ACCA")),
    Shape("bearer", r"(?<=Bearer )(?!scrubbed-)[A-Za-z0-9._~+/-]{16,}=*", needles=("Bearer ",)),
    Shape(
        "github_token",
        r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})(?![A-Za-z0-9])",
        needles=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    Shape(
        "slack_token",
        r"(?<![A-Za-z0-9])(?:xox[abposr]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})",
        needles=("xox", "xapp-"),
    ),
    Shape(
        "slack_webhook",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,}",
        needles=("hooks.slack.com/",),
    ),
    Shape("google_api_key", r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])", needles=("AIza",)),
    Shape(
        "stripe_key",
        r"(?<![A-Za-z0-9])(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|whsec_[A-Za-z0-9]{24,})",
        needles=("sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"),
    ),
    Shape("huggingface_token", r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}(?![A-Za-z0-9])", needles=("hf_",)),
    Shape(
        # An Entra ID (Azure AD) application's client secret: three characters, a digit, "Q~".
        "azure_client_secret",
        r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])",
        needles=("Q~",),
    ),
    Shape(
        # An Azure SAS token's signature (``sig``) and the signing principal's object and tenant
        # ids (``skoid``, ``sktid``) inside text: a URL in a body, a connection string's
        # ``SharedAccessSignature=``. Its other fields (``sv``, ``se``, ``sp``, ...) are no secret.
        "sig",
        r"(?:(?<=[?&;])|(?<=\\u0026)|(?<=SharedAccessSignature=))(?P<k>sig|skoid|sktid)=(?P<s>[A-Za-z0-9%+/=_-]{20,})",
        needles=("sig=", "skoid=", "sktid="),
        also=("sv=", "se=", "sr=", "sp=", "ss="),
        group="s",
        check=_sas,
        decoded=True,
    ),
)

#: Secrets known by what surrounds them: the secret is a group of the match, and a check
#: decides. Always applied after the shapes (and the configured patterns); not configurable.
CONTEXT_SHAPES: tuple[Shape, ...] = (
    Shape(
        "aws_secret_key",
        r"aws[A-Za-z0-9_ .-]{0,24}?secret[A-Za-z0-9_ .-]{0,24}?\\?[\"']?[ \t]{0,4}(?:[:=,]|=>)?[ \t]{0,4}\\?[\"']?"
        r"(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        folded=("aws",),
        group="s",
        flags=re.IGNORECASE | re.ASCII,
    ),
    Shape(
        "bearer",
        r"\b(?P<scheme>[Bb]earer|BEARER|[Tt]oken|TOKEN|[Bb]asic|BASIC)[ \t]+(?P<s>[A-Za-z0-9._~+/-]{8,}=*)",
        folded=("bearer", "token", "basic"),
        group="s",
        check=_scheme,
    ),
    Shape(
        "password",
        r"(?<=://)[^\s/?#@:\"'<>\\]{0,256}:(?P<s>[^\s/?#@\"'<>\\]{1,256})@",
        needles=("://",),
        also=("@",),
        group="s",
        check=_userinfo,
    ),
    Shape(
        "secret",
        # The value sits in a lookahead: a pair whose name is no secret leaves its value to be
        # searched too (``"note": "...;AccountKey=..."``).
        # Only names holding a keyword are read on (the check then decides), and values are at
        # most VALUE_CAP characters: text that repeats ``name=`` cannot make this quadratic.
        r"(?<![A-Za-z0-9_.-])(?P<q>\\?[\"']?)"
        rf"(?P<k>[A-Za-z0-9_.-]{{0,40}}?(?i:{'|'.join(_KEYWORDS)})[A-Za-z0-9_.-]{{0,40}})"
        r"(?P=q)[ \t]*[:=][ \t]*"
        rf"(?=\\?\"(?P<s>[^\"\\\r\n]{{1,{VALUE_CAP}}})|'(?P<s2>[^'\r\n]{{1,{VALUE_CAP}}})"
        rf"|(?P<s3>[^\s\"'&;,<>(){{}}\[\]\\]{{1,{VALUE_CAP}}}))",
        folded=_KEYWORDS,
        also=("=", ":"),
        group="s",
        check=_assignment,
    ),
    Shape(
        "secret",
        r"\bname=\"(?P<k>[^\"\r\n]{1,80})\"[^\r\n]{0,200}\r?\n(?:[^\r\n]{1,200}\r?\n){0,8}?\r?\n(?P<s>[^\r\n]+)",
        needles=('name="',),
        group="s",
        check=_assignment,
    ),
)

#: The shapes as (kind, regular expression) pairs: what ``patterns`` starts from.
SECRET_PATTERNS: tuple[tuple[str, str], ...] = tuple((s.kind, s.pattern) for s in SHAPES)
_BUILT_IN = tuple(zip(SECRET_PATTERNS, SHAPES, strict=True))

DEFAULT_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
        "x-coze-token",
    }
)
#: ``sig`` is a SAS token's signature; ``skoid`` and ``sktid`` name the principal and tenant that
#: signed a user delegation SAS (pseudonyms, so matching stays stable).
DEFAULT_QUERY_PARAMS = frozenset(
    {"api_key", "apikey", "key", "token", "access_token", "auth", "sig", "signature", "skoid", "sktid"}
)
HIGH_ENTROPY = re.compile(r"[A-Za-z0-9+/_=-]{32,}")
_CONFIG_KEYS = {
    "headers": "extra header names whose values are secrets",
    "query_params": "extra query parameters that carry secrets",
    "json_paths": "JSON paths whose values are scrubbed (e.g. $..user_id, $.meta.email, $.messages[*].content)",
    "patterns": "extra secret shapes: a table of name = regular expression",
    "high_entropy": "also scrub long random-looking strings (true/false)",
    "salt_env": "environment variable holding a private salt for the pseudonyms",
    "enabled": "scrub at record time (true/false; default true)",
    "path_ids": "URL path segments whose next segment is an id to pseudonymise (e.g. subscriptions, resourceGroups)",
}


#: No built-in shape fits in fewer characters (``pwd=abc``).
_SHORTEST = 7
#: Strings up to this long found clean are remembered, up to this many.
_CACHED, _CACHE_SIZE = 200, 1 << 16


def _trie(words: set[str]) -> str:
    """A regular expression matching any of ``words``, as a trie: Python's ``re`` tries the
    branches of an alternation one by one at each position, a trie tries one per character."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        if "" in node:  # a shorter word is enough: what follows need not match
            return ""
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return build(root)


@dataclass(frozen=True)
class Compiled:
    """A shape ready to apply."""

    kind: str
    regex: re.Pattern[str]
    #: The groups that may hold the secret, the first that took part in a match (empty: all of it).
    groups: tuple[str, ...]
    check: Callable[[re.Match[str], str], str | None] | None
    decoded: bool = False


@dataclass(frozen=True)
class _Prepared:
    """The shapes of a list of patterns, compiled once per list (see :func:`_prepare`)."""

    #: Per shape, in the order they apply: (compiled, literals, lower-case literals, also).
    compiled: tuple[tuple[Compiled, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]
    #: Every literal, lower-cased, as one regular expression (a trie) searched in the
    #: lower-cased string; None when no shape has a literal.
    any_needle: re.Pattern[str] | None
    #: What the trie finds is the shortest of the literals it starts: each such word leads to
    #: the shapes with a literal starting with it, and only those are looked at closely.
    by_word: dict[str, tuple[int, ...]]
    #: The shapes without literals (configured patterns), tried on every string, and where.
    always: list[Compiled]
    always_at: tuple[int, ...]
    #: Strings known to hold no literal: ids and statuses repeat across a cassette.
    clean: dict[str, None]


@functools.lru_cache(maxsize=64)
def _prepare(patterns: tuple[tuple[str, str], ...]) -> _Prepared:
    built_in = dict(_BUILT_IN)
    compiled = []
    shapes = [built_in.get((kind, rx)) or Shape(kind, rx, flags=0) for kind, rx in patterns]
    for shape in [*shapes, *CONTEXT_SHAPES]:
        regex = re.compile(shape.pattern, shape.flags)
        groups: tuple[str, ...] = ()
        if shape.group:
            groups = tuple(g for g in regex.groupindex if re.fullmatch(re.escape(shape.group) + r"\d*", g))
        compiled.append(
            (Compiled(shape.kind, regex, groups, shape.check, shape.decoded), shape.needles, shape.folded, shape.also)
        )
    needles = {n.lower() for _, plain, folded, _ in compiled for n in (*plain, *folded)}
    words = {w for w in needles if not any(o != w and w.startswith(o) for o in needles)}
    by_word = {
        word: tuple(
            i
            for i, (_, plain, folded, _) in enumerate(compiled)
            if any(n.lower().startswith(word) for n in (*plain, *folded))
        )
        for word in words
    }
    always_at = tuple(i for i, (_, plain, folded, _) in enumerate(compiled) if not plain and not folded)
    return _Prepared(
        compiled=tuple(compiled),
        any_needle=re.compile(_trie(needles)) if needles else None,
        by_word=by_word,
        always=[compiled[i][0] for i in always_at],
        always_at=always_at,
        clean={},
    )


@dataclass(frozen=True)
class ScrubRules:
    headers: frozenset[str] = DEFAULT_HEADERS
    query_params: frozenset[str] = DEFAULT_QUERY_PARAMS
    json_paths: tuple[str, ...] = ()
    patterns: tuple[tuple[str, str], ...] = SECRET_PATTERNS
    high_entropy: bool = False
    salt_env: str = "RUNREPLAY_SCRUB_SALT"
    enabled: bool = True
    #: Path segment names (``subscriptions``, ``resourceGroups``) whose next segment is an id to
    #: replace by a pseudonym, in URLs and in any text (an ARM resource id in a body).
    path_ids: tuple[str, ...] = ()
    _prepared: _Prepared = field(init=False, compare=False, repr=False)
    #: ``json_paths`` parsed (a ConfigError names one that cannot match).
    compiled_paths: tuple[JsonPath, ...] = field(init=False, compare=False, repr=False)
    #: ``path_ids`` as one regular expression (None: none configured).
    path_id_regex: re.Pattern[str] | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prepared", _prepare(self.patterns))
        object.__setattr__(self, "compiled_paths", parse_all(self.json_paths, "json_paths"))
        object.__setattr__(self, "path_id_regex", _path_id_regex(self.path_ids))

    def candidates(self, value: str) -> list[Compiled]:
        """The secret shapes that may occur in ``value``: those whose literals it holds, and
        every configured pattern (their literals are not known), in the order they apply.

        This runs on every string scrubbed or checked, so it is built for the common case of
        nothing found: one search of the lower-cased string for any literal (a trie).
        """
        prepared = self._prepared
        if len(value) < _SHORTEST or prepared.any_needle is None or value in prepared.clean:
            return prepared.always
        lowered = value.lower()
        words = prepared.any_needle.findall(lowered)
        if not words:
            self.remember_clean(value)
            return prepared.always
        compiled, by_word = prepared.compiled, prepared.by_word
        out = []
        for i in sorted({i for word in set(words) for i in by_word[word]}.union(prepared.always_at)):
            made, plain, folded, also = compiled[i]
            if plain or folded:
                hit = any(n in value for n in plain) or any(n in lowered for n in folded)
                if not hit or (also and not any(a in value for a in also)):
                    continue
            out.append(made)
        return out

    @property
    def all_have_literals(self) -> bool:
        """Whether every shape has literals (no configured pattern): then a string found clean stays clean."""
        return not self._prepared.always

    def remember_clean(self, value: str) -> None:
        """Note that no built-in shape finds anything in ``value`` (a bounded cache)."""
        if len(value) <= _CACHED:
            clean = self._prepared.clean
            if len(clean) >= _CACHE_SIZE:
                clean.clear()
            clean[value] = None


def _path_id_regex(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """``/<name>/<id>`` for any of ``names``, in any case (Azure resource ids ignore case)."""
    for name in names:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ConfigError(f"path_ids: {name!r} must be one path segment (letters, digits, _ . -)")
    if not names:
        return None
    alternatives = "|".join(sorted({re.escape(n) for n in names}, key=len, reverse=True))
    return re.compile(rf"(?i)(?<=/)(?P<k>{alternatives})/(?P<s>[^/?#&\s\"'\\<>]+)")


# ---------------------------------------------------------------------------- configuration


def load_rules(path: Path | None = None, *, search_from: Path | None = None) -> ScrubRules:
    """Rules from a TOML file: ``[tool.runreplay.scrub]`` of a pyproject.toml, or a rule file
    whose top level holds the same keys.

    Without ``path``, the nearest pyproject.toml above ``search_from`` (default: the
    working directory) is used if it has the table; otherwise the defaults apply.
    """
    source = Path(path) if path is not None else find_pyproject(search_from)
    if source is None:
        return ScrubRules()
    document = read_toml(source)
    if source.name != "pyproject.toml" and "tool" not in document:
        return rules_from_table(document, f"{source}")
    table = tool_table(document, "scrub", source)
    if table is None:
        if path is not None:
            raise ConfigError(f"{source}: no [tool.runreplay.scrub] table")
        return ScrubRules()
    return rules_from_table(table, f"{source}: [tool.runreplay.scrub]")


def rules_from_table(table: Any, where: str) -> ScrubRules:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    check_keys(table, _CONFIG_KEYS, where)
    headers = _string_list(table, "headers", where)
    params = _string_list(table, "query_params", where)
    paths = _string_list(table, "json_paths", where)
    parse_all(paths, f"{where}: json_paths")  # refused here, naming the file and the key
    path_ids = _string_list(table, "path_ids", where)
    try:
        _path_id_regex(tuple(path_ids))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    extra = table.get("patterns", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise ConfigError(f"{where}: 'patterns' must be a table of name = \"regular expression\"")
    patterns = list(SECRET_PATTERNS)
    for name, rx in extra.items():
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ConfigError(f"{where}: pattern name {name!r} must be lower-case letters, digits and _")
        try:
            re.compile(rx)
        except re.error as exc:
            raise ConfigError(f"{where}: pattern {name!r} is not a valid regular expression: {exc}") from None
        patterns.append((name, rx))
    for flag in ("high_entropy", "enabled"):
        if flag in table and not isinstance(table[flag], bool):
            raise ConfigError(f"{where}: {flag!r} must be true or false, found {table[flag]!r}")
    salt_env = table.get("salt_env", "RUNREPLAY_SCRUB_SALT")
    if not isinstance(salt_env, str):
        raise ConfigError(f"{where}: 'salt_env' must be a string")
    return ScrubRules(
        headers=DEFAULT_HEADERS | {h.lower() for h in headers},
        query_params=DEFAULT_QUERY_PARAMS | {p.lower() for p in params},
        json_paths=tuple(paths),
        patterns=tuple(patterns),
        high_entropy=bool(table.get("high_entropy", False)),
        salt_env=salt_env,
        enabled=bool(table.get("enabled", True)),
        path_ids=tuple(path_ids),
    )


def _string_list(table: dict[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {key!r} must be a list of non-empty strings, found {value!r}")
    return value
