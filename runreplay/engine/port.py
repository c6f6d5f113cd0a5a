"""The port between the interceptors and the session: all an interceptor may ask.

The interceptors (:mod:`runreplay.engine.interception`) see a request leave a client and
ask the :class:`Handler` whether to replay it (:meth:`Handler.respond`) or let it through
and record what comes back (:meth:`Handler.record`). :class:`runreplay.Session` is the
handler; the interceptors never reach into it further.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

from runreplay.cassette import Interaction, Request, Response
from runreplay.options import StreamOptions
from runreplay.sse import SSEEvent


class Reply(NamedTuple):
    """A recorded interaction to replay, with how to deliver its stream (if it has one)."""

    interaction: Interaction
    #: The stream options that apply to this reply (the defaults for a stream not targeted).
    stream: StreamOptions
    #: Makes the ``error`` event a fault injects, in the shape of the reply's API family.
    stream_error: Callable[[str], SSEEvent]


class Handler(Protocol):
    @property
    def recording(self) -> bool:
        """Whether requests that are not replayed go through and are recorded."""

    @property
    def wants_request_headers(self) -> bool:
        """Whether request headers are ever read (to record them, or to match on them)."""

    @property
    def sse_exact(self) -> bool:
        """Whether a recorded stream keeps each event's exact bytes."""

    def now_ms(self) -> int:
        """Milliseconds since the session began, for the times of recorded requests."""

    def respond(self, request: Request, raw_body: bytes | None = None) -> Reply | None:
        """The reply to replay, None to let the request through (recording), or raise
        :class:`runreplay.UnmatchedRequestError`. ``raw_body`` (the bytes sent) lets a
        repeated request reuse what was computed for it the first time."""

    def record(self, request: Request, response: Response, at_ms: int, duration_ms: int | None = None) -> None:
        """Keep an exchange that went through."""
