"""Ids that replies give out, and the requests that name them.

A stateful API hands out ids (an assistant, a thread, a run) in its replies, and later
requests name them. An id that only a replayed reply gave out exists on no live server:
re-record advice and ``new_episodes`` use this to tell when a request cannot go live.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from runreplay.cassette import BodyKind, Request, Response

#: Shorter values under an id key (``"1"``, ``"t"``) are too likely to appear by chance.
_MIN_LENGTH = 4


def reply_ids(response: Response) -> set[str]:
    """The values of ``id`` and ``*_id`` fields in a reply (JSON, or the JSON of its stream events)."""
    found: set[str] = set()
    body = response.body
    if body.kind is BodyKind.SSE:
        for event in body.events:
            if event.data_is_json:
                _collect(event.data, "", found)
    else:
        _collect(body.json_value, "", found)
    return found


def _collect(value: Any, key: str, found: set[str]) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _collect(item, str(name), found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, key, found)
    elif isinstance(value, (str, int)) and not isinstance(value, bool) and (key == "id" or key.endswith("_id")):
        text = str(value)
        if len(text) >= _MIN_LENGTH:
            found.add(text)


def named_id(request: Request, ids: set[str] | frozenset[str]) -> str | None:
    """The first of ``ids`` that ``request`` names in its path, query or JSON body, if any."""
    if not ids:
        return None
    for segment in request.path.split("/"):
        if unquote(segment) in ids:
            return unquote(segment)
    for _name, value in request.query():
        if value in ids:
            return value
    return _in_body(request.body.json_value, ids)


def _in_body(value: Any, ids: set[str] | frozenset[str]) -> str | None:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _in_body(item, ids)
            if found is not None:
                return found
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) in ids:
        return str(value)
    return None
