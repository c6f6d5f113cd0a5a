"""Replay isolation: a replay-only session lets no connection out, sockets included."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from runreplay import Cassette, ConfigError, Session, UnmatchedRequestError, save, use_cassette
from runreplay.engine.isolation import NetworkBlockedError, NetworkGuard, is_loopback


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, int]]:
    """A listening 127.0.0.1 port: a connection that got through would be accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    try:
        yield server, server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "empty.json"
    save(Cassette(path=path), path)
    return path


def _nothing_reached(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except TimeoutError:
        return True
    connection.close()
    return False


def _raw_connect(port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.connect(("127.0.0.1", port))
    finally:
        sock.close()


def _create_connection(port: int) -> None:
    socket.create_connection(("127.0.0.1", port), timeout=5).close()


def _connect_ex(port: int) -> None:
    sock = socket.socket()
    try:
        sock.connect_ex(("127.0.0.1", port))
    finally:
        sock.close()


def _localhost(port: int) -> None:
    socket.create_connection(("localhost", port), timeout=5).close()


def _asyncio_streams(port: int) -> None:
    async def main() -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    asyncio.run(main())


def _loop_create_connection(port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        transport.close()

    asyncio.run(main())


CONNECTS = {
    "socket.connect": _raw_connect,
    "socket.create_connection": _create_connection,
    "socket.connect_ex": _connect_ex,
    "localhost by name": _localhost,
    "asyncio.open_connection": _asyncio_streams,
    "loop.create_connection": _loop_create_connection,
}


@pytest.mark.parametrize("how", sorted(CONNECTS))
def test_every_way_to_connect_fails_at_once_in_record_mode_none(
    cassette: Path, listener: tuple[socket.socket, int], how: str
) -> None:
    server, port = listener
    with use_cassette(cassette) as session:
        started = time.perf_counter()
        with pytest.raises(NetworkBlockedError) as caught:
            CONNECTS[how](port)
        elapsed = time.perf_counter() - started
    assert elapsed < 0.5
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "allow_loopback=True" in message and str(cassette) in message
    assert (caught.value.host, caught.value.port) in {("127.0.0.1", port), ("localhost", port)}
    assert isinstance(caught.value, UnmatchedRequestError) and not isinstance(caught.value, Exception)
    assert session.unmatched == [message], "a swallowed block still fails the test"
    assert _nothing_reached(server)


@pytest.mark.parametrize("how", sorted(CONNECTS))
def test_loopback_is_allowed_on_request(cassette: Path, listener: tuple[socket.socket, int], how: str) -> None:
    _, port = listener
    with use_cassette(cassette, allow_loopback=True) as session:
        CONNECTS[how](port)
    assert session.unmatched == []


def test_allowed_hosts_name_a_host_and_optionally_a_port(cassette: Path, listener: tuple[socket.socket, int]) -> None:
    _, port = listener
    for allowed in ([f"127.0.0.1:{port}"], ["127.0.0.1"], ["localhost"], [f"localhost:{port}"], ["127.*"]):
        with use_cassette(cassette, allow_hosts=allowed):
            _create_connection(port)
    with (
        use_cassette(cassette, allow_hosts=[f"127.0.0.1:{port + 1}", "example.com"]),
        pytest.raises(NetworkBlockedError),
    ):
        _create_connection(port)


def test_a_remote_address_is_named_with_the_host_the_code_resolved(
    cassette: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "api.example.com":  # TEST-NET-1: never routed, and never reached anyway
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with use_cassette(cassette, allow_hosts=["*.other.com"]):
        with pytest.raises(NetworkBlockedError) as caught:
            socket.create_connection(("api.example.com", 443), timeout=1)
        with pytest.raises(NetworkBlockedError, match=r"192\.0\.2\.8:443: "):
            socket.create_connection(("192.0.2.8", 443), timeout=1)
    message = str(caught.value)
    assert "api.example.com:443 (192.0.2.7)" in message
    assert "allow_hosts=['api.example.com']" in message and "--allowed-hosts=api.example.com" in message
    guard = NetworkGuard(["*.example.com"])
    with guard:
        socket.getaddrinfo("api.example.com", 443)
        assert guard.allows("192.0.2.7", 443) and not guard.allows("192.0.2.8", 443)


@pytest.mark.parametrize("mode", ["once", "new_episodes", "all", "rewrite"])
def test_recording_sessions_block_nothing(tmp_path: Path, listener: tuple[socket.socket, int], mode: str) -> None:
    _, port = listener
    with use_cassette(tmp_path / "new.json", record_mode=mode):
        _raw_connect(port)
        _asyncio_streams(port)


def test_once_with_an_existing_cassette_replays_only_and_blocks(
    cassette: Path, listener: tuple[socket.socket, int]
) -> None:
    with use_cassette(cassette, record_mode="once"), pytest.raises(NetworkBlockedError, match="record mode 'once'"):
        _raw_connect(listener[1])


def test_http_clients_still_fail_as_unmatched_requests_before_connecting(cassette: Path) -> None:
    with use_cassette(cassette) as session:
        with pytest.raises(UnmatchedRequestError, match="no recorded interaction") as by_httpx:
            httpx.get("http://127.0.0.1:9/v1/models")
        with pytest.raises(UnmatchedRequestError, match="no recorded interaction") as by_requests:
            requests.get("http://127.0.0.1:9/v1/models", timeout=5)
    assert not isinstance(by_httpx.value, NetworkBlockedError)
    assert not isinstance(by_requests.value, NetworkBlockedError)
    assert len(session.unmatched) == 2


def test_the_patch_is_process_wide_nested_and_restored(cassette: Path, listener: tuple[socket.socket, int]) -> None:
    _, port = listener
    assert "connect" not in socket.socket.__dict__
    with use_cassette(cassette, allow_loopback=True):
        _raw_connect(port)
        with use_cassette(cassette):  # the inner session allows less: both must allow
            with pytest.raises(NetworkBlockedError):
                _raw_connect(port)
            failures: list[BaseException] = []

            def other_thread() -> None:
                try:
                    _raw_connect(port)
                except BaseException as exc:  # the thread reports what it met
                    failures.append(exc)

            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()
            assert len(failures) == 1 and isinstance(failures[0], NetworkBlockedError)
        _raw_connect(port)  # the outer session's rules again
    assert "connect" not in socket.socket.__dict__ and "connect_ex" not in socket.socket.__dict__
    _raw_connect(port)


def test_a_patch_made_on_top_is_left_in_place(cassette: Path, listener: tuple[socket.socket, int]) -> None:
    _, port = listener
    calls: list[object] = []
    with use_cassette(cassette):
        below = socket.socket.connect

        def theirs(self: socket.socket, address: Any) -> None:
            calls.append(address)
            below(self, address)

        socket.socket.connect = theirs  # type: ignore[method-assign,assignment]
        with pytest.raises(NetworkBlockedError):
            _raw_connect(port)
    try:
        assert socket.socket.__dict__["connect"] is theirs
        _raw_connect(port)  # ours, still below theirs, lets everything through now
        assert len(calls) == 2
    finally:
        del socket.socket.connect
    with use_cassette(cassette), pytest.raises(NetworkBlockedError):
        _raw_connect(port)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
def test_unix_sockets_are_not_network(cassette: Path, tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    try:
        with use_cassette(cassette):
            client = socket.socket(socket.AF_UNIX)
            client.connect(path)
            client.close()
            left, right = socket.socketpair()
            left.close()
            right.close()
    finally:
        server.close()


def test_allow_hosts_entries_are_checked() -> None:
    with pytest.raises(ConfigError, match="'a b' is not a host"):
        Session("x.json", allow_hosts=["a b"])
    with pytest.raises(ConfigError, match="'h:99999' is not a host"):
        NetworkGuard(["h:99999"])
    with pytest.raises(ConfigError, match="allow_loopback must be True or False"):
        Session("x.json", allow_loopback="yes")  # type: ignore[arg-type]


def test_what_counts_as_loopback() -> None:
    for host in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "localhost", "LOCALHOST.", "0.0.0.0", "", "::"):
        assert is_loopback(host), host
    for host in ("10.0.0.1", "192.0.2.1", "example.com", "2001:db8::1", "localhost.example.com"):
        assert not is_loopback(host), host


def test_a_bare_ipv6_address_and_a_bracketed_one_with_a_port() -> None:
    guard = NetworkGuard(["::1", "[2001:db8::1]:8443"])
    assert guard.allows("::1", 1) and guard.allows("0:0::1", 2)
    assert guard.allows("2001:db8::1", 8443) and not guard.allows("2001:db8::1", 443)
