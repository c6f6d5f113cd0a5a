"""Every option of a cassette session, declared once.

:class:`Options` holds them parsed; its fields are exactly the keywords that
``use_cassette``, ``Session`` and ``@pytest.mark.runreplay`` accept (a test keeps the
three equal), and each field's ``help`` is what ``pytest --markers`` and the README's
options table say. Policies are enums (:class:`RecordMode`, :class:`ReplayMode`,
:class:`UnusedPolicy`, :class:`ValidatePolicy`, :class:`ToolOutputs`); strings are
accepted everywhere and parsed with a clear error for a typo.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Self, TypedDict

from runreplay._jsonpath import JsonPath, parse_all
from runreplay.errors import ConfigError
from runreplay.scrub_rules import ScrubRules


class Choice(enum.StrEnum):
    """A string option with a fixed set of values, parsed with a clear error for typos."""

    @classmethod
    def parse(cls, value: str | Choice) -> Self:
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower().replace("-", "_"))
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            label = re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()
            raise ConfigError(f"unknown {label} {value!r}; choose one of: {choices}") from None


class RecordMode(Choice):
    #: Replay only; a request with no recorded match fails. The default.
    NONE = "none"
    #: Record if the cassette does not exist yet, otherwise replay only.
    ONCE = "once"
    #: Replay what matches, record what does not, and add it to the cassette.
    NEW_EPISODES = "new_episodes"
    #: Record every request, never replay; new interactions are added to the cassette.
    ALL = "all"
    #: Record every request, never replay; the cassette is replaced.
    REWRITE = "rewrite"

    def replays(self, cassette_exists: bool) -> bool:
        if self is RecordMode.ONCE:
            return cassette_exists
        return self in (RecordMode.NONE, RecordMode.NEW_EPISODES)

    def records(self, cassette_exists: bool) -> bool:
        if self is RecordMode.ONCE:
            return not cassette_exists
        return self is not RecordMode.NONE


class ReplayMode(Choice):
    #: A poll at virtual time t gets the state recorded at or before t. The default.
    TIMELINE = "timeline"
    #: The n-th poll gets the n-th recorded state; the last one repeats.
    SEQUENCE = "sequence"
    #: Every poll advances to the next distinct state: the quickest way to the end.
    FAST = "fast"


class UnusedPolicy(Choice):
    """What to do when a replay leaves recorded interactions unused."""

    WARN = "warn"
    ERROR = "error"
    IGNORE = "ignore"


class ValidatePolicy(Choice):
    """What to do when a payload breaks its documented schema."""

    ERROR = "error"
    WARN = "warn"
    OFF = "off"


class ToolOutputs(Choice):
    """How a submitted tool output is compared with the recorded one."""

    #: The outputs' text must equal the recording.
    MATCH = "match"
    #: Only the tool_call_ids must be the same.
    IDS = "ids"


# ---------------------------------------------------------------------------- streams

_BYTES_CHUNKING = re.compile(r"bytes:([1-9][0-9]*)")


def chunk_size(chunking: str) -> int | None:
    """The N of ``"bytes:N"``, None for ``"event"`` and ``"split"``; ConfigError for anything else."""
    if chunking in ("event", "split"):
        return None
    found = _BYTES_CHUNKING.fullmatch(chunking) if isinstance(chunking, str) else None
    if found is None:
        raise ConfigError(
            f"unknown chunking mode {chunking!r}: use 'event', 'bytes:N' with N a positive whole number"
            " of bytes (e.g. 'bytes:1'), or 'split'"
        )
    return int(found.group(1))


@dataclass(frozen=True)
class StreamOptions:
    """How replayed SSE streams are delivered.

    ``pacing``: ``None`` (as fast as the client reads; the default), ``"recorded"`` (the
    recorded gaps between events, in virtual time when the virtual clock is active) or a
    number scaling the recorded gaps. ``chunking``: ``"event"`` (one chunk per event),
    ``"bytes:N"`` or ``"split"`` (each chunk cut in two at an awkward place). Faults,
    counted in events from 0: ``cut_after`` ends the connection abruptly after that many
    events; ``error_at`` injects the provider's error event before event N;
    ``stall_before`` is ``(N, seconds)``, a pause before event N that becomes a read
    timeout when longer than the client's read timeout. ``streams`` limits the options to
    the n-th replayed streams (0-based); ``None`` means all.
    """

    pacing: str | float | None = None
    chunking: str = "event"
    cut_after: int | None = None
    error_at: int | None = None
    stall_before: tuple[int, float] | None = None
    streams: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.pacing is not None and self.pacing != "recorded" and not isinstance(self.pacing, (int, float)):
            raise ConfigError(f"pacing must be None, 'recorded' or a number, not {self.pacing!r}")
        chunk_size(self.chunking)

    def applies_to(self, stream_number: int) -> bool:
        return self.streams is None or stream_number in self.streams

    @property
    def plain(self) -> bool:
        """The default delivery: one chunk per event, as fast as the client reads, no fault."""
        return (
            self.pacing is None
            and self.chunking == "event"
            and self.cut_after is None
            and self.error_at is None
            and self.stall_before is None
        )


# ---------------------------------------------------------------------------- matching

#: Header names that differ between runs of the same code: the ``match_headers`` option
#: refuses them (providers add their SDKs' own, see ``Provider.volatile_headers``).
VOLATILE_HEADERS = frozenset({"authorization", "user-agent", "content-length", "host", "accept-encoding", "connection"})


class CallRules(NamedTuple):
    """What one API's server reads the same whether a client sends it or not, for one route.

    Declared by the providers (see docs/matching.md); matching leaves these parts out so that
    SDKs in different languages that make the same call produce the same key.
    """

    #: ``name=`` (an empty value) counts as no ``name`` at all, for every query parameter.
    blank_query_absent: bool = False
    #: Top-level body fields and the server's default for each: sent with that value or left
    #: out, the call is the same.
    body_defaults: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class MatchConfig:
    """How requests are compared.

    ``ignore_json_paths`` are JSON paths into the request body (``$.metadata.trace_id``,
    ``$.messages[*].id``, ``$..trace_id``: the syntax of :mod:`runreplay._jsonpath`), left
    out of the comparison; a path that cannot match is a ConfigError. ``match_host`` makes host and
    port count. ``match_headers`` names request headers that must be equal (e.g.
    ``openai-beta`` to keep v1 and v2 recordings apart).
    """

    ignore_json_paths: tuple[str, ...] = ()
    match_host: bool = False
    match_headers: tuple[str, ...] = ()
    drop_null_fields: bool = True
    drop_stream_false: bool = True
    #: API versions treated as one (``allow_versions``), in the query parameters that name a
    #: version (``version_parameters``, which the providers declare: ``api-version``).
    allow_versions: tuple[str, ...] = ()
    version_parameters: tuple[str, ...] = ()
    #: The providers' :class:`CallRules` for a request (``None``: no route declares any).
    call_rules: Callable[[Any], CallRules | None] | None = field(default=None, compare=False, repr=False)
    #: ``ignore_json_paths`` parsed once: matching applies them to every replayed request.
    compiled_paths: tuple[JsonPath, ...] = field(default=(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled_paths", parse_all(self.ignore_json_paths, "match_ignore_paths"))
        for name in self.match_headers:
            if name.lower() in VOLATILE_HEADERS:
                raise ConfigError(f"header {name!r} is volatile and cannot be matched on")


# ---------------------------------------------------------------------------- all options


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class Options:
    """Every cassette option, parsed. Build it with :meth:`parse` from keywords."""

    record_mode: RecordMode = field(
        default=RecordMode.NONE, metadata=_help("none | once | new_episodes | all | rewrite")
    )
    replay_mode: ReplayMode = field(
        default=ReplayMode.TIMELINE,
        metadata=_help("timeline | sequence | fast: how polls of a run or chat are answered"),
    )
    match_ignore_paths: tuple[str, ...] = field(
        default=(),
        metadata=_help("JSON paths in request bodies left out of matching ($.metadata.trace_id, $..trace_id)"),
    )
    match_host: bool = field(default=False, metadata=_help("host and port take part in matching"))
    match_headers: tuple[str, ...] = field(
        default=(), metadata=_help("request headers that must be equal to match (e.g. an API-version header)")
    )
    allow_versions: tuple[str, ...] = field(
        default=(),
        metadata=_help(
            "API versions (an api-version query parameter) treated as one when matching: a recording made "
            "under one of them replays under any other"
        ),
    )
    virtual_clock: bool = field(default=True, metadata=_help("sleeps cost no wall time during replay"))
    unused: UnusedPolicy = field(
        default=UnusedPolicy.WARN, metadata=_help("warn | error | ignore: recorded interactions never replayed")
    )
    tool_outputs: ToolOutputs = field(
        default=ToolOutputs.MATCH,
        metadata=_help("match | ids: submitted tool outputs must equal the recording, or only their ids"),
    )
    allow_repeats: bool | tuple[str, ...] = field(
        default=False,
        metadata=_help(
            "True, or route names (create_assistant, cancel_run): those creates, cancels and submits may be "
            "replayed more often than recorded"
        ),
    )
    sse_exact: bool = field(default=False, metadata=_help("keep each recorded SSE event's exact bytes"))
    streams: StreamOptions | None = field(
        default=None, metadata=_help("a StreamOptions: pacing, re-chunking and faults for replayed streams")
    )
    validate: ValidatePolicy = field(
        default=ValidatePolicy.ERROR,
        metadata=_help("error | warn | off: recorded payloads that break their documented schema"),
    )
    validate_replay: bool = field(default=True, metadata=_help("also check replayed payloads against the schemas"))
    scrub: ScrubRules | None = field(
        default=None,
        metadata=_help("a ScrubRules (the plugin's default: [tool.runreplay.scrub] of pyproject.toml)"),
    )
    allow_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_help(
            "hosts a replay-only session may still connect to (name, IP or *.glob, optionally :port); "
            "every other connection fails"
        ),
    )
    allow_loopback: bool = field(
        default=False,
        metadata=_help("a replay-only session may connect to 127.0.0.1, ::1 and localhost (a test's own server)"),
    )
    before_record_request: Callable[[Any], Any] | None = field(
        default=None,
        metadata=_help(
            "a function given each recorded Request (already scrubbed) before it is written; it returns the "
            "Request to keep (changed or not) or None to leave the interaction out"
        ),
    )
    before_record_response: Callable[[Any], Any] | None = field(
        default=None,
        metadata=_help(
            "a function given each recorded Response (already scrubbed) before it is written; it returns the "
            "Response to keep or None to leave the interaction out"
        ),
    )

    @classmethod
    def parse(cls, keywords: Mapping[str, Any], where: str = "runreplay options") -> Options:
        """Options from keywords (strings or enums); ConfigError names an unknown or bad one."""
        names = option_names()
        for key in keywords:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"{where}: unknown option {key!r}{hint}; known: {', '.join(names)}")
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            if item.name not in keywords:
                continue
            value = keywords[item.name]
            values[item.name] = _convert(item.name, value, where)
        return cls(**values)

    def match_config(
        self,
        version_parameters: tuple[str, ...] = (),
        call_rules: Callable[[Any], CallRules | None] | None = None,
    ) -> MatchConfig:
        """``version_parameters``: the query parameters that name an API version; ``call_rules``:
        what each route's server reads the same sent or not (both from the providers)."""
        return MatchConfig(
            ignore_json_paths=self.match_ignore_paths,
            match_host=self.match_host,
            match_headers=self.match_headers,
            allow_versions=self.allow_versions,
            version_parameters=version_parameters,
            call_rules=call_rules,
        )


_CHOICES: dict[str, type[Choice]] = {
    "record_mode": RecordMode,
    "replay_mode": ReplayMode,
    "unused": UnusedPolicy,
    "tool_outputs": ToolOutputs,
    "validate": ValidatePolicy,
}
_FLAGS = frozenset({"match_host", "virtual_clock", "sse_exact", "validate_replay", "allow_loopback"})
_LISTS = frozenset({"match_ignore_paths", "match_headers", "allow_hosts", "allow_versions"})
#: Options that take a function (the cassette model is a layer above: typed loosely here).
_HOOKS = frozenset({"before_record_request", "before_record_response"})


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


def _repeats(value: Any, where: str) -> bool | tuple[str, ...]:
    """``allow_repeats``: a bool, or route names (a list, or one string: "a, b" as an ini file gives it)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        value = value.replace(",", " ").split()
    if not isinstance(value, Iterable) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: allow_repeats must be True, False or a list of route names, not {value!r}")
    return tuple(v.strip() for v in value) or False


def _convert(name: str, value: Any, where: str) -> Any:
    if name == "allow_repeats":
        return _repeats(value, where)
    if name in _CHOICES:
        return _CHOICES[name].parse(value)
    if name in _FLAGS:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {name} must be True or False, not {value!r}")
        return value
    if name in _LISTS:
        items = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, Iterable) else value
        if not isinstance(items, tuple) or not all(isinstance(v, str) for v in items):
            raise ConfigError(f"{where}: {name} must be a string or a list of strings, not {value!r}")
        if name == "allow_hosts":
            for item in items:
                split_host(item, f"{where}: allow_hosts")  # a ConfigError for a malformed entry
            return tuple(item.strip().lower() for item in items)
        if name == "match_ignore_paths":
            # Refused here, at session start, with the place the options came from.
            parse_all(items, f"{where}: match_ignore_paths")
        return tuple(items)
    if name in _HOOKS:
        if value is not None and not callable(value):
            raise ConfigError(f"{where}: {name} must be a function (or None), not {value!r}")
        return value
    kinds: dict[str, type] = {"streams": StreamOptions, "scrub": ScrubRules}
    if value is not None and not isinstance(value, kinds[name]):
        raise ConfigError(f"{where}: {name} must be a runreplay.{kinds[name].__name__}, not {value!r}")
    return value


_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\s]+))(?::(?P<port>[0-9]{1,5}))?$")


def split_host(entry: str, where: str = "allow_hosts") -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port); ConfigError otherwise."""
    text = entry.strip().lower()
    if text.count(":") > 1 and not text.startswith("["):  # a bare IPv6 address
        return text, None
    found = _HOST_PORT.match(text)
    port = int(found.group("port")) if found is not None and found.group("port") else None
    if found is None or (port is not None and not 0 < port < 65536):
        raise ConfigError(
            f"{where}: {entry!r} is not a host: give a name, an IP address or a *.glob, optionally with :port "
            "(api.example.com, 127.0.0.1:8765, [::1]:8765, *.internal)"
        )
    return found.group("v6") or found.group("host"), port


def option_names() -> list[str]:
    """The keywords of :class:`Options`, in declaration order."""
    return [f.name for f in dataclasses.fields(Options)]


def option_kind(name: str) -> Literal["flag", "list", "text"]:
    """How a keyword is written as text (an ini value): a yes/no flag, a list (one item per line), or text."""
    return "flag" if name in _FLAGS else "list" if name in _LISTS else "text"


def option_help() -> dict[str, str]:
    """Each keyword with its one-line meaning."""
    return {f.name: str(f.metadata.get("help", "")) for f in dataclasses.fields(Options)}


class OptionKeywords(TypedDict, total=False):
    """The keywords of ``use_cassette``/``Session`` for type checkers (the fields of :class:`Options`)."""

    record_mode: str | RecordMode
    replay_mode: str | ReplayMode
    match_ignore_paths: str | Iterable[str]
    match_host: bool
    match_headers: str | Iterable[str]
    allow_versions: str | Iterable[str]
    virtual_clock: bool
    unused: str | UnusedPolicy
    tool_outputs: str | ToolOutputs
    allow_repeats: bool | str | Iterable[str]
    sse_exact: bool
    streams: StreamOptions | None
    validate: str | ValidatePolicy
    validate_replay: bool
    scrub: ScrubRules | None
    allow_hosts: str | Iterable[str]
    allow_loopback: bool
    before_record_request: Callable[[Any], Any] | None
    before_record_response: Callable[[Any], Any] | None
