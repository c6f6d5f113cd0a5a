"""How a replayed stream is delivered: pacing, re-chunking and injected faults.

:func:`deliveries` turns a stored SSE body and its :class:`StreamOptions` into what a
client should see, in order: pauses, chunks of bytes and at most one fault at the end
(:class:`Cut`: the connection drops; :class:`Stall`: the server goes quiet past the
client's read timeout). Each interceptor turns a fault into its client library's own
exception. Nothing here knows an HTTP library.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass

from runreplay.cassette import Body, Framing
from runreplay.engine.port import Reply
from runreplay.options import StreamOptions, chunk_size
from runreplay.sse import SSEEvent, encode_events, iter_encoded

_EOL = (ord("\r"), ord("\n"))


@dataclass(frozen=True)
class Cut:
    """The connection ends abruptly."""

    message: str


@dataclass(frozen=True)
class Stall:
    """The server sends nothing for longer than the client waits: a read timeout."""

    message: str


Fault = Cut | Stall


def plain_chunks(body: Body) -> Iterator[bytes]:
    """The default delivery (one chunk per event, no pause, no fault): each event's bytes as they are read."""
    return iter_encoded(body.events, body.framing or Framing())


def replayed(reply: Reply, read_timeout: float | None, error: Callable[[Fault], BaseException]) -> Iterator[bytes]:
    """A recorded stream's chunks as a blocking client reads them: pauses are slept
    (virtual time while replaying) and a fault is raised as ``error`` makes it."""
    interaction = reply.interaction
    body = interaction.response.body
    if reply.stream.plain:
        yield from plain_chunks(body)
        return
    for pause, item in deliveries(body, reply.stream, interaction.at_ms, reply.stream_error, read_timeout):
        if pause:
            time.sleep(pause)
        if not isinstance(item, bytes):
            raise error(item)
        yield item


async def areplayed(
    reply: Reply, read_timeout: float | None, error: Callable[[Fault], BaseException]
) -> AsyncIterator[bytes]:
    """:func:`replayed` for an asyncio client: the pauses are ``asyncio.sleep``."""
    interaction = reply.interaction
    body = interaction.response.body
    if reply.stream.plain:
        for chunk in plain_chunks(body):
            yield chunk
        return
    for pause, item in deliveries(body, reply.stream, interaction.at_ms, reply.stream_error, read_timeout):
        if pause:
            await asyncio.sleep(pause)
        if not isinstance(item, bytes):
            raise error(item)
        yield item


def deliveries(
    body: Body,
    options: StreamOptions,
    start_ms: int,
    stream_error: Callable[[str], SSEEvent],
    read_timeout: float | None,
) -> Iterator[tuple[float, bytes | Fault]]:
    """(pause in seconds, chunk or fault) in delivery order."""
    recorded = body.events
    events = list(recorded)
    error_at = options.error_at
    if error_at is not None:
        injected = stream_error("runreplay: injected stream error")
        injected.at_ms = events[0].at_ms if events else 0
        events = [*events[:error_at], injected, *events[error_at:]]
    if options.cut_after is not None:
        events = events[: options.cut_after]
    chunks = encode_events(events, body.framing or Framing())
    previous_ms = start_ms
    for number, (event, chunk) in enumerate(zip(events, chunks, strict=True)):
        pause = _pause(options, event.at_ms - previous_ms)
        previous_ms = max(previous_ms, event.at_ms)
        if options.stall_before is not None and options.stall_before[0] == number:
            stall = options.stall_before[1]
            if read_timeout is not None and stall > read_timeout:
                message = f"runreplay: stream stalled {stall:g}s before event {number} (read timeout {read_timeout:g}s)"
                yield pause + read_timeout, Stall(message)
                return
            pause += stall
        for part_number, part in enumerate(rechunk([chunk], options.chunking)):
            yield (pause if part_number == 0 else 0.0), part
    if options.cut_after is not None and options.cut_after < len(recorded):
        yield 0.0, Cut(f"runreplay: stream cut after event {options.cut_after} (fault injected)")


def _pause(options: StreamOptions, gap_ms: int) -> float:
    pacing = options.pacing
    if pacing is None or gap_ms <= 0:
        return 0.0
    scale = 1.0 if pacing == "recorded" else float(pacing)
    return gap_ms / 1000 * scale


def rechunk(chunks: Iterable[bytes], mode: str) -> list[bytes]:
    """Re-cut a stream's chunks to test how a client copes with chunk boundaries.

    ``"event"``: unchanged. ``"bytes:N"``: the bytes cut every N bytes, whatever the input
    chunks were. ``"split"``: each chunk cut in two at an awkward place: between the CR
    and LF of its first CRLF, else inside its first multi-byte UTF-8 character, else in
    the middle of its first line. No empty chunk is ever returned by the last two modes.
    """
    chunks = list(chunks)
    size = chunk_size(mode)
    if mode == "event":
        return chunks
    if size is None:  # "split"
        out: list[bytes] = []
        for chunk in chunks:
            cut = _awkward_cut(chunk)
            out.extend(part for part in (chunk[:cut], chunk[cut:]) if part)
        return out
    data = b"".join(chunks)
    return [data[i : i + size] for i in range(0, len(data), size)]


def _awkward_cut(chunk: bytes) -> int:
    crlf = chunk.find(b"\r\n")
    if crlf >= 0:
        return crlf + 1
    for i, byte in enumerate(chunk[:-1]):
        if byte >= 0xC0 and 0x80 <= chunk[i + 1] < 0xC0:
            return i + 1  # after the lead byte of a multi-byte character
    first_line = next((i for i, byte in enumerate(chunk) if byte in _EOL), len(chunk))
    return max(1, first_line // 2)
