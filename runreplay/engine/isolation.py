"""Replay isolation: while a guard is active, no connection leaves the process unless allowed.

The HTTP clients a session patches never connect during replay: a request with no
recorded match raises :class:`~runreplay.errors.UnmatchedRequestError` before any socket
is opened. Everything else ends in ``socket.socket.connect`` or ``connect_ex``: a raw
socket, ``socket.create_connection``, ``asyncio.open_connection`` and
``loop.create_connection`` (the selector loops connect through the socket object), and
any client runreplay does not patch. :class:`NetworkGuard` wraps those two methods while
it is active and raises :class:`NetworkBlockedError` for an Internet (IPv4/IPv6)
connection that no allowed host covers. Unix sockets and other address families pass.

A replay-only session activates one (:func:`replay_guard`); the pytest plugin's
``--block-network`` another, for tests without a recording session. Guards nest and may be
active from several threads at once: the methods are patched when the first becomes
active and restored when the last one ends (left in place, passing everything through,
if something else patched over them meanwhile), and a connection must be allowed by every
active guard.

A ``connect`` usually sees an IP address that ``socket.getaddrinfo`` resolved, so while a
guard is active ``getaddrinfo`` is wrapped too, to remember which name gave which address:
allowing ``api.example.com`` allows the addresses it resolved to, and the error names the
host as the code wrote it.

Not covered: code that connects below the ``socket`` module (C extensions such as
libcurl or grpc's core, ``_socket.socket`` used directly) and event loops that connect
without the socket object (uvloop; the Windows proactor loop).
"""

from __future__ import annotations

import _socket
import fnmatch
import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from runreplay.errors import ConfigError, UnmatchedRequestError
from runreplay.options import Options, RecordMode, split_host

__all__ = ["NetworkBlockedError", "NetworkGuard", "is_loopback", "replay_guard"]

_LOOPBACK_NAMES = frozenset({"", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_INET = (socket.AF_INET, socket.AF_INET6)
_MAX_NAMES = 4096


class NetworkBlockedError(UnmatchedRequestError):
    """A connection was attempted where none may leave: a replay-only session, or ``--block-network``.

    Like its base class it derives from ``BaseException``, so an SDK's retry loop or an
    ``except Exception`` cannot turn it into a slow, silent connection error.
    """

    def __init__(self, message: str, host: str, port: int) -> None:
        super().__init__(message)
        self.host = host
        self.port = port


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _normal(host: str) -> str:
    """An IP address in its one canonical spelling; a name in lower case without a trailing dot."""
    address = _ip(host)
    return str(address) if address is not None else host.lower().rstrip(".")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1, the unspecified address (which reaches this machine) and ``localhost``."""
    name = host.lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    address = _ip(host)
    return address is not None and (address.is_loopback or address.is_unspecified)


# ---------------------------------------------------------------------------- names seen by getaddrinfo

_NAMES: dict[str, set[str]] = {}
_NAMES_LOCK = threading.Lock()


def _remember(name: str, addresses: Iterable[str]) -> None:
    name = _normal(name)
    with _NAMES_LOCK:
        for address in addresses:
            names = _NAMES.setdefault(_normal(address), set())
            if len(names) < 8:
                names.add(name)
        while len(_NAMES) > _MAX_NAMES:
            del _NAMES[next(iter(_NAMES))]


def _names_of(host: str) -> list[str]:
    """The names ``getaddrinfo`` resolved to this address (the address itself first)."""
    key = _normal(host)
    with _NAMES_LOCK:
        return [key, *sorted(_NAMES.get(key, ()))]


# ---------------------------------------------------------------------------- the guard


@dataclass(frozen=True)
class _Allowed:
    pattern: str
    port: int | None

    @classmethod
    def parse(cls, entry: str) -> _Allowed:
        host, port = split_host(entry)
        return cls(_normal(host), port)

    def allows(self, names: list[str], port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.pattern in _LOOPBACK_NAMES and is_loopback(names[0]):
            return True
        return any(fnmatch.fnmatchcase(name, self.pattern) for name in names)


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text.strip())
    except re.error as exc:
        raise ConfigError(f"{text!r} is not a regular expression: {exc}") from None


class NetworkGuard:
    """While active, an Internet connection that no allowed host covers raises :class:`NetworkBlockedError`.

    ``allow_hosts``: names, IP addresses or ``*.globs``, each optionally with ``:port``
    (``localhost`` covers every loopback address). ``allow_patterns`` are regular expressions
    that allow a host whose address or resolved name they match from its start (what
    pytest-recording's ``--allowed-hosts`` means). ``allow_loopback`` allows 127.0.0.0/8,
    ::1 and ``localhost``. The error says ``reason``, then how to allow the host:
    ``allow_hint`` (``{host}`` is replaced by it) or, for a loopback address,
    ``loopback_hint``. ``on_block`` is called with each message (a test that swallows the
    error still fails); :attr:`blocked` keeps them too.
    """

    def __init__(
        self,
        allow_hosts: Iterable[str] = (),
        *,
        allow_loopback: bool = False,
        allow_patterns: Iterable[str] = (),
        reason: str = "the network is blocked",
        allow_hint: str = "allow_hosts=['{host}']",
        loopback_hint: str = "allow_loopback=True",
        on_block: Callable[[str], None] | None = None,
    ) -> None:
        self.allowed = tuple(_Allowed.parse(entry) for entry in allow_hosts)
        self.patterns = tuple(_pattern(text) for text in allow_patterns)
        self.allow_loopback = allow_loopback
        self.reason = reason
        self.allow_hint = allow_hint
        self.loopback_hint = loopback_hint
        self.on_block = on_block
        #: The message of every connection this guard refused.
        self.blocked: list[str] = []

    def allows(self, host: str, port: int) -> bool:
        if self.allow_loopback and is_loopback(host):
            return True
        names = _names_of(host)
        if any(pattern.match(name) for pattern in self.patterns for name in names):
            return True
        return any(rule.allows(names, port) for rule in self.allowed)

    def check(self, host: str, port: int) -> None:
        if self.allows(host, port):
            return
        message = self.message(host, port)
        self.blocked.append(message)
        if self.on_block is not None:
            self.on_block(message)
        raise NetworkBlockedError(message, host, port)

    def message(self, host: str, port: int) -> str:
        address, *names = _names_of(host)
        shown = f"[{address}]" if ":" in address else address
        if is_loopback(host):  # many names resolve to a loopback address: show the address
            where, hint = f"{shown}:{port}", self.loopback_hint
        else:
            where = f"{names[0]}:{port} ({address})" if names else f"{shown}:{port}"
            hint = self.allow_hint.format(host=names[0] if names else shown)
        return f"runreplay: blocked a connection to {where}: {self.reason}. To allow it: {hint}."

    def __enter__(self) -> NetworkGuard:
        _activate(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _deactivate(self)


def replay_guard(path: Path, mode: RecordMode, options: Options, on_block: Callable[[str], None]) -> NetworkGuard:
    """The guard of a session that replays ``path`` only."""
    return NetworkGuard(
        options.allow_hosts,
        allow_loopback=options.allow_loopback,
        reason=f"the session replays {path} only (record mode '{mode.value}'), nothing may connect out",
        allow_hint=(
            "allow_hosts=['{host}'] (marker or use_cassette; ini runreplay_allow_hosts; pytest --allowed-hosts={host}; "
            "runreplay record --allowed-hosts {host}), or record instead (e.g. record mode 'once')"
        ),
        loopback_hint=(
            "allow_loopback=True for a local server (marker or use_cassette; ini runreplay_allow_loopback; pytest "
            "--runreplay-allow-loopback; runreplay record --allow-loopback), or allow_hosts=['HOST:PORT']"
        ),
        on_block=on_block,
    )


# ---------------------------------------------------------------------------- the patches

_LOCK = threading.Lock()
_ACTIVE: tuple[NetworkGuard, ...] = ()
_LOCAL = threading.local()
#: What this module installed: (owner, attribute) -> (our function, what was there before or _MISSING).
_INSTALLED: dict[tuple[Any, str], tuple[Any, Any]] = {}
_MISSING = object()


def _check(sock: Any, address: Any) -> None:
    guards = _ACTIVE
    if not guards or getattr(_LOCAL, "internal", False):
        return
    try:
        if sock.family not in _INET or not isinstance(address, tuple) or len(address) < 2:
            return  # not the Internet, or a malformed address the real method reports
    except (AttributeError, OSError):
        return
    host, port = address[0], address[1]
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    if not isinstance(host, str) or not isinstance(port, int):
        return
    for guard in guards:
        guard.check(host, port)


def _guarded(real: Callable[..., Any]) -> Callable[..., Any]:
    def connect(self: socket.socket, address: Any) -> Any:
        _check(self, address)
        return real(self, address)

    connect.__name__ = real.__name__
    connect.__qualname__ = getattr(real, "__qualname__", real.__name__)
    connect.__doc__ = real.__doc__
    return connect


def _naming(real: Callable[..., Any]) -> Callable[..., Any]:
    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        result = real(host, *args, **kwargs)
        if _ACTIVE and isinstance(host, (str, bytes)) and host:
            name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
            if _ip(name) is None:
                _remember(name, (str(info[4][0]) for info in result if info[0] in _INET))
        return result

    getaddrinfo.__doc__ = real.__doc__
    return getaddrinfo


def _internal(real: Callable[..., Any]) -> Callable[..., Any]:
    """``socket.socketpair`` where it connects two loopback sockets itself (no ``_socket.socketpair``)."""

    def socketpair(*args: Any, **kwargs: Any) -> Any:
        _LOCAL.internal = True
        try:
            return real(*args, **kwargs)
        finally:
            _LOCAL.internal = False

    socketpair.__doc__ = real.__doc__
    return socketpair


def _install() -> None:
    targets: list[tuple[Any, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
        (socket.socket, "connect", _guarded),
        (socket.socket, "connect_ex", _guarded),
        (socket, "getaddrinfo", _naming),
    ]
    if not hasattr(_socket, "socketpair"):  # pragma: no cover - Windows: asyncio's self-pipe connects
        targets.append((socket, "socketpair", _internal))
    for owner, name, wrap in targets:
        before = owner.__dict__.get(name, _MISSING) if isinstance(owner, type) else getattr(owner, name)
        ours = wrap(getattr(owner, name))
        setattr(owner, name, ours)
        _INSTALLED[(owner, name)] = (ours, before)


def _uninstall() -> None:
    for (owner, name), (ours, before) in list(_INSTALLED.items()):
        current = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name)
        if current is not ours:
            continue  # patched over since: ours stays below, passing everything through
        if before is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, before)
        del _INSTALLED[(owner, name)]


def _activate(guard: NetworkGuard) -> None:
    global _ACTIVE
    with _LOCK:
        if not _ACTIVE:
            _install()
        _ACTIVE = (*_ACTIVE, guard)


def _deactivate(guard: NetworkGuard) -> None:
    global _ACTIVE
    with _LOCK:
        active = list(_ACTIVE)
        for index in range(len(active) - 1, -1, -1):
            if active[index] is guard:
                del active[index]
                break
        _ACTIVE = tuple(active)
        if not _ACTIVE:
            _uninstall()
