"""Splitting request URLs, which replay does for every request (scrub, match key, lifecycle)."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

#: The last URL split and its parts, read and replaced as one tuple (safe across threads):
#: scrubbing, the match key and the lifecycle each split the same URL string in turn.
_last: tuple[str, SplitResult] = ("", SplitResult("", "", "", "", ""))


def split_url(url: str) -> SplitResult:
    """``urllib.parse.urlsplit``, with a fast path for a plain ``http(s)://host/path``.

    urlsplit memoises only its last 128 URLs, and replaying distinct URLs misses every time.
    The fast path takes only what urlsplit would return unchanged: a printable ASCII URL
    with an http(s) scheme, no query, no fragment and no IPv6 brackets in the host.
    """
    global _last
    last = _last
    if last[0] is url:
        return last[1]
    parts = _split(url)
    _last = (url, parts)
    return parts


def _split(url: str) -> SplitResult:
    if "?" not in url and "#" not in url and " " not in url and url.isascii() and url.isprintable():
        if url.startswith("https://"):
            scheme, rest = "https", url[8:]
        elif url.startswith("http://"):
            scheme, rest = "http", url[7:]
        else:
            return urlsplit(url)
        slash = rest.find("/")
        netloc, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
        if "[" not in netloc and "]" not in netloc:
            return SplitResult(scheme, netloc, path, "", "")
    return urlsplit(url)
