"""``runreplay serve``: cassettes over HTTP, for clients in any language.

A replay server with the in-process replay's semantics (a session per cassette), and a
recording reverse proxy. See docs/serve.md.
"""

from runreplay.server.server import ReplayServer, serve

__all__ = ["ReplayServer", "serve"]
