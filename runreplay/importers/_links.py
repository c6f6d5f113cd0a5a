"""Ids a recorder's sanitizer replaced in URLs but left in bodies.

The Azure SDKs' test proxy runs sanitizers over each recording. Some replace an id in the URL
path (``/threads/thread_1/runs/Sanitized``) while the bodies keep it (``"id": "run_1"``): the
run's polls then no longer link to the run its create returned, and a client replaying the
recording asks for ``/runs/run_1``, which matches nothing. Where the recording itself says
which id was replaced, it is put back in the URL; where it cannot tell, nothing changes. Either
way the importer says so, naming the file and the interactions.

Evidence for a placeholder after a collection segment (``runs/Sanitized``), first found wins:
the reply to that very request (its top-level ``id`` when the URL names the resource itself,
or values under ``<singular>_id``, ``run_id`` for ``runs``, anywhere in it), then the ids that
earlier creates at the same path (``POST .../runs``) returned. More than one candidate is
ambiguous and left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlunsplit

from runreplay.cassette import Body, BodyKind, Interaction
from runreplay.scrub_rules import is_placeholder

#: A collection segment: a plural lower-case word (``runs``, ``vector_stores``).
_COLLECTION = re.compile(r"[a-z][a-z_]*s")


@dataclass
class _Finding:
    """One placeholder at one place (parent path + collection), and what it stands for."""

    collection: str
    placeholder: str
    interactions: list[int] = field(default_factory=list)
    restored: str | None = None
    source: int | None = None  # the interaction whose reply named the id (None: its own)
    candidates: tuple[str, ...] = ()


def relink(interactions: list[Interaction], where: Callable[[int], str]) -> list[str]:
    """Put back, in place, the URL ids a sanitizer replaced but bodies kept; return one message
    per id (``where(i)`` names interaction ``i``'s place in the source, such as ``$.Entries[4]``)."""
    created: dict[str, list[tuple[int, str]]] = {}  # parent path -> (interaction, id) of its creates
    findings: dict[tuple[str, str, str | None, tuple[str, ...]], _Finding] = {}
    for index, interaction in enumerate(interactions):
        request = interaction.request
        parts = request.parts
        segments = parts.path.split("/")
        changed = False
        for j in range(1, len(segments)):
            segment, collection = segments[j], segments[j - 1]
            if not _sanitized(segment) or not _COLLECTION.fullmatch(collection):
                continue
            parent = "/".join(segments[:j])
            own = _own_ids(interaction, collection, last=j == len(segments) - 1)
            source: int | None = None
            if len(own) == 1:
                candidates = tuple(own)
            else:
                earlier = created.get(parent, [])
                candidates = tuple(dict.fromkeys(made for _, made in earlier))
                source = earlier[-1][0] if len(candidates) == 1 else None
            if not candidates:
                continue  # the bodies name no id either: the sanitizer was consistent
            restored = candidates[0] if len(candidates) == 1 else None
            key = (parent, segment, restored, candidates if restored is None else ())
            finding = findings.setdefault(key, _Finding(collection, segment, restored=restored, source=source))
            finding.interactions.append(index)
            if restored is None:
                finding.candidates = candidates
            else:
                segments[j] = restored
                changed = True
        if changed:
            interaction.request = request.replace(url=urlunsplit(parts._replace(path="/".join(segments))))
        made = _created_id(interaction)
        if request.method == "POST" and made is not None:
            created.setdefault(interaction.request.parts.path, []).append((index, made))
    return [_message(f, where) for f in findings.values()]


def _message(finding: _Finding, where: Callable[[int], str]) -> str:
    numbers = finding.interactions
    places = (
        f"interaction{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))} "
        f"({', '.join(where(i) for i in numbers)})"
    )
    what = f"the recorder's sanitizer replaced a {finding.collection} id in the URL with {finding.placeholder!r}"
    if finding.restored is not None:
        origin = "their own replies" if finding.source is None else f"the reply to interaction {finding.source}"
        return (
            f"{places}: {what} but left it in the bodies; restored it as {finding.restored!r} (named by "
            f"{origin}) so that the requests link to their resource and replay"
        )
    listed = ", ".join(repr(c) for c in finding.candidates[:5])
    return (
        f"{places}: {what} but the bodies keep the real ids, and more than one fits ({listed}); left as it is, "
        "so these requests cannot be linked to their resource: a replayed client asking for the real id will "
        "not match them"
    )


def _sanitized(segment: str) -> bool:
    """A placeholder a sanitizer writes for an id: ``Sanitized``, ``00000``, a zero UUID."""
    return bool(segment) and (is_placeholder(segment) or not segment.strip("0-"))


def _own_ids(interaction: Interaction, collection: str, *, last: bool) -> set[str]:
    """The ids the reply to this request gives for its ``collection`` segment."""
    singular = collection[:-1] + "_id"
    found: set[str] = set()
    for value in _documents(interaction.response.body):
        if last and isinstance(value, dict) and _real_id(value.get("id")):
            found.add(value["id"])
        found.update(v for v in _values_under(value, singular) if _real_id(v))
    return found


def _created_id(interaction: Interaction) -> str | None:
    """The id a create returned: its reply's top-level ``id`` (a stream's first such event)."""
    for value in _documents(interaction.response.body):
        if isinstance(value, dict) and _real_id(value.get("id")):
            return str(value["id"])
    return None


def _documents(body: Body) -> Iterator[Any]:
    if body.kind is BodyKind.JSON:
        yield body.value
    elif body.kind is BodyKind.SSE:
        for event in body.events:
            if event.data_is_json:
                yield event.data


def _values_under(value: Any, key: str) -> Iterator[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                yield v
            else:
                yield from _values_under(v, key)
    elif isinstance(value, list):
        for item in value:
            yield from _values_under(item, key)


def _real_id(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "/" not in value and not _sanitized(value)
