"""``runreplay show``: a cassette as a readable timeline.

Each request with its status and time, the state changes of every run and chat, the tool
calls asked for and answered, and what each stream carried (event counts by type).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from runreplay.cassette import BodyKind, Cassette, Interaction
from runreplay.engine.timeline import ResourceReplay, Timeline, build_timelines, step_of, streamed_states
from runreplay.providers.base import Role


def describe(cassette: Cassette) -> dict[str, Any]:
    """Everything ``show`` prints, as data (the ``--format json`` output)."""
    timelines = build_timelines(cassette.interactions)
    notes: dict[int, list[str]] = {}
    resources = []
    for timeline in timelines.values():
        _note_changes(timeline, notes)
        recorded = ResourceReplay.recorded(timeline, cassette.interactions)
        resources.append(
            {
                "resource": f"{timeline.provider} {timeline.kind} {timeline.resource_id}",
                "states": recorded.states,
                "polls": recorded.polls,
                "phases": [p.trigger_name for p in timeline.phases],
                "span_ms": recorded.virtual_ms,
                "url_ids": list(timeline.aliases),
            }
        )
    rows = [_row(index, item, notes.get(index, [])) for index, item in enumerate(cassette.interactions)]
    end = max((i.at_ms + (i.duration_ms or 0) for i in cassette.interactions), default=0)
    return {
        "cassette": str(cassette.path) if cassette.path else None,
        "meta": cassette.meta,
        "interactions": len(cassette.interactions),
        "recorded_ms": end,
        "requests": rows,
        "resources": resources,
    }


def _note_changes(timeline: Timeline, notes: dict[int, list[str]]) -> None:
    """Note each status change at the interaction that showed it (a stream's changes on one line)."""
    last: str | None = None
    for phase in timeline.phases:
        seen = [(phase.trigger, status) for status in phase.walk]
        seen += [(state.interaction, state.status) for state in phase.states]
        changes: dict[int, list[str]] = {}
        for index, status in seen:
            if status != last:
                changes.setdefault(index, []).append(status)
                last = status
        for index, statuses in changes.items():
            label = f"{timeline.kind} {timeline.resource_id}: {' -> '.join(statuses)}"
            if index == phase.trigger and phase.role is Role.MUTATE:
                label += f" (after {phase.trigger_name})"
            notes.setdefault(index, []).append(label)


def _row(index: int, item: Interaction, notes: list[str]) -> dict[str, Any]:
    request, response = item.request, item.response
    parts = request.parts
    row: dict[str, Any] = {
        "index": index,
        "at_ms": item.at_ms,
        "method": request.method,
        "path": parts.path + (f"?{parts.query}" if parts.query else ""),
        "status": response.status,
        "notes": list(notes),
    }
    body = response.body
    if body.kind is BodyKind.SSE:
        row["sse_events"] = dict(Counter(e.event or "(comment)" for e in body.events))
    step = step_of(request)
    if step is None:
        return row
    lifecycle = step.lifecycle
    if lifecycle.required_calls is not None:
        sse = body.kind is BodyKind.SSE
        states = streamed_states(lifecycle, body) if sse else [lifecycle.unwrap(body.json_value)]
        for state in states:
            calls = lifecycle.required_calls(state) if isinstance(state, dict) else []
            if calls:
                row["notes"].append(f"tool calls: {', '.join(calls)}")
    if step.route.name == lifecycle.submit and lifecycle.tool_outputs is not None:
        answered = lifecycle.tool_outputs(request.body.json_value)
        if answered:
            row["notes"].append(f"answers: {', '.join(answered)}")
    return row


def render_text(description: dict[str, Any], style: Any = None) -> str:
    """Plain text, or coloured when ``style`` is ``click.style`` (a terminal)."""

    def paint(text: str, **kwargs: Any) -> str:
        return style(text, **kwargs) if style is not None else text

    meta = description["meta"]
    client = meta.get("client") or {}
    head = [
        paint(str(description["cassette"] or "<cassette>"), bold=True),
        f"  provider {meta.get('provider') or '?'}"
        + (f", client {client.get('name')} {client.get('version')}" if client else "")
        + f", recorded {meta.get('recorded_at', '?')}",
        f"  {description['interactions']} interactions over {description['recorded_ms'] / 1000:.2f} s",
        "",
    ]
    lines = head
    for row in description["requests"]:
        status = paint(str(row["status"]), fg="green" if row["status"] < 400 else "red")
        line = f"{row['at_ms']:>8} ms  {status}  {row['method']:<6} {row['path']}"
        lines.append(line)
        if "sse_events" in row:
            counts = ", ".join(f"{name} x{count}" for name, count in row["sse_events"].items())
            lines.append(f"{'':>15}stream: {sum(row['sse_events'].values())} events ({counts})")
        lines.extend(f"{'':>15}{paint('->', fg='cyan')} {note}" for note in row["notes"])
    if description["resources"]:
        lines += ["", paint("resources", bold=True)]
        for res in description["resources"]:
            lines.append(
                f"  {res['resource']}: {' -> '.join(res['states'])} "
                f"({res['polls']} polls over {res['span_ms'] / 1000:.2f} s)"
            )
            if res["url_ids"]:
                named = ", ".join(res["url_ids"])
                lines.append(
                    f"    URLs name it {named} (a sanitizer replaced the id in URLs only; linked by the reply)"
                )
    return "\n".join(lines)
