"""Resources with a lifecycle (an OpenAI run, a Coze chat): timelines and their replay.

A provider declares, per resource kind, which requests create it, poll it and mutate it
(:class:`ResourceSpec`). From a cassette's interactions we build each resource's
:class:`Timeline`: phases, each started by the create or a mutating call, each holding the
states that polls saw, with their time since the phase began. Replay then answers a poll
from the timeline according to the replay mode instead of "the next identical request".
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from runreplay._urls import split_url
from runreplay.cassette import Interaction, Request
from runreplay.record_mode import Choice

#: Clock jitter forgiven when comparing a replayed poll's time with recorded times: the
#: replay and the recording run the same client code, but not in exactly the same time.
TIMELINE_TOLERANCE_MS = 10


class ReplayMode(Choice):
    #: A poll at virtual time t gets the state recorded at or before t. The default.
    TIMELINE = "timeline"
    #: The n-th poll gets the n-th recorded state; the last one repeats.
    SEQUENCE = "sequence"
    #: Every poll advances to the next distinct state: the quickest way to the end.
    FAST = "fast"


# ---------------------------------------------------------------------------- declarations


def submitted_tool_outputs(body: Any) -> dict[str, str]:
    """``{tool_call_id: output}`` of a submit_tool_outputs body (both vendors use this shape)."""
    outputs = body.get("tool_outputs") if isinstance(body, dict) else None
    return {str(o.get("tool_call_id")): str(o.get("output")) for o in outputs or [] if isinstance(o, dict)}


def requested_tool_calls(resource: Any) -> list[str]:
    """The tool_call_ids a ``requires_action`` run or chat asks outputs for."""
    action = resource.get("required_action") if isinstance(resource, dict) else None
    calls = ((action or {}).get("submit_tool_outputs") or {}).get("tool_calls") or []
    return [str(c.get("id")) for c in calls if isinstance(c, dict)]


@dataclass(frozen=True)
class Route:
    """A request shape: method and a path pattern with an optional ``(?P<id>...)`` group."""

    method: str
    path: str
    #: Where the resource id is when the path does not hold it: ("query", name) or ("body", name).
    id_in: tuple[str, str] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rx", re.compile(self.path + r"/?$"))

    def match(self, method: str, path: str) -> re.Match[str] | None:
        if method != self.method:
            return None
        return self._rx.search(path)  # type: ignore[attr-defined,no-any-return]

    def resource_id(self, request: Request, match: re.Match[str]) -> str | None:
        if "id" in match.groupdict():
            return match.group("id")
        if self.id_in is None:
            return None
        where, key = self.id_in
        if where == "query":
            values = parse_qs(urlsplit(request.url).query).get(key)
            return values[0] if values else None
        body = request.body.value if request.body.kind == "json" else None
        value = body.get(key) if isinstance(body, dict) else None
        return str(value) if value is not None else None


@dataclass(frozen=True)
class ResourceSpec:
    provider: str
    kind: str
    create: tuple[Route, ...]
    poll: tuple[Route, ...]
    mutate: tuple[Route, ...]
    #: The resource object inside a response body (e.g. Coze's ``data`` envelope).
    unwrap: Callable[[Any], Any]
    terminal: frozenset[str]
    #: The tool_call_ids a submit_tool_outputs request body answers, with their outputs.
    tool_outputs: Callable[[Any], dict[str, str]] | None = None
    #: The tool_call_ids a requires_action state asks for.
    required_calls: Callable[[Any], list[str]] | None = None

    def resource(self, interaction: Interaction) -> dict[str, Any] | None:
        body = interaction.response.body
        if body.kind != "json" or not 200 <= interaction.response.status < 300:
            return None
        obj = self.unwrap(body.value)
        return obj if isinstance(obj, dict) and "status" in obj else None


@dataclass(frozen=True)
class Classified:
    spec: ResourceSpec
    role: str  # "create" | "poll" | "mutate"
    route: Route
    resource_id: str | None


def classify(request: Request, specs: Sequence[ResourceSpec]) -> Classified | None:
    method, path = request.method, split_url(request.url).path
    for spec in specs:
        for role, routes in (("poll", spec.poll), ("mutate", spec.mutate), ("create", spec.create)):
            for route in routes:
                match = route.match(method, path)
                if match is not None:
                    return Classified(spec, role, route, route.resource_id(request, match))
    return None


# ---------------------------------------------------------------------------- timelines


@dataclass(slots=True)
class State:
    at_ms: int  # since the phase began
    status: str
    interaction: int


@dataclass
class Phase:
    trigger: int  # the interaction that began the phase (create or mutation)
    trigger_name: str
    #: The resource's creation is not in the cassette: its first poll began the phase.
    by_poll: bool = False
    states: list[State] = field(default_factory=list)  # states[0] is the trigger's own response
    #: (number of states, their times when in order) and (number of states, distinct-status
    #: positions), each built on first use: a poll then costs O(log n), not a scan of every state.
    _times: tuple[int, list[int] | None] = field(default=(-1, None), init=False, repr=False, compare=False)
    _distinct: tuple[int, list[int]] = field(default=(-1, []), init=False, repr=False, compare=False)

    @property
    def polls(self) -> list[State]:
        return self.states[1:]

    def _ordered_times(self) -> list[int] | None:
        count, times = self._times
        if count != len(self.states):  # states are only ever appended
            times = [s.at_ms for s in self.states]
            if not all(a <= b for a, b in itertools.pairwise(times)):
                times = None
            self._times = (len(self.states), times)
        return times

    def position_at(self, elapsed_ms: int) -> int:
        """The last state recorded at or before ``elapsed_ms`` since the phase began (0 if none)."""
        if len(self.states) == 1:
            return 0
        times = self._ordered_times()
        if times is not None:
            return max(bisect.bisect_right(times, elapsed_ms) - 1, 0)
        position = 0  # recorded out of order (a hand-edited cassette): the last one in list order
        for number, state in enumerate(self.states):
            if state.at_ms <= elapsed_ms:
                position = number
        return position

    def distinct_positions(self) -> list[int]:
        """Positions where the status changes (``fast`` mode walks these)."""
        count, positions = self._distinct
        if count != len(self.states):
            positions = _distinct_positions(self.states)
            self._distinct = (len(self.states), positions)
        return positions


@dataclass
class Timeline:
    spec: ResourceSpec
    resource_id: str
    phases: list[Phase] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.spec.provider}:{self.spec.kind}:{self.resource_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.spec.provider,
            "kind": self.spec.kind,
            "id": self.resource_id,
            "phases": [
                {
                    "trigger": p.trigger_name,
                    "interaction": p.trigger,
                    "states": [{"at_ms": s.at_ms, "status": s.status, "interaction": s.interaction} for s in p.states],
                }
                for p in self.phases
            ],
        }


def build_timelines(interactions: Sequence[Interaction], specs: Sequence[ResourceSpec]) -> dict[str, Timeline]:
    """Each resource's phases and states, in recorded order."""
    timelines: dict[str, Timeline] = {}
    for index, interaction in enumerate(interactions):
        found = classify(interaction.request, specs)
        if found is None:
            continue
        obj = found.spec.resource(interaction)
        if obj is not None:
            status = str(obj["status"])
        elif found.role == "poll" and interaction.response.status >= 400:
            # A failed poll (429 with retry-after, a 5xx) is part of what the client saw.
            status = f"http_{interaction.response.status}"
        else:
            continue
        resource_id = found.resource_id if obj is None or found.role != "create" else str(obj.get("id", ""))
        if not resource_id:
            continue
        key = f"{found.spec.provider}:{found.spec.kind}:{resource_id}"
        timeline = timelines.get(key)
        if timeline is None:
            timeline = timelines[key] = Timeline(found.spec, resource_id)
        if found.role != "poll" or not timeline.phases:
            # A create or a mutation begins a phase; so does a poll of a resource whose
            # creation is not in the cassette.
            name = found.route.name or found.role
            timeline.phases.append(Phase(trigger=index, trigger_name=name, by_poll=found.role == "poll"))
        phase = timeline.phases[-1]
        origin = interactions[phase.trigger].at_ms
        phase.states.append(State(interaction.at_ms - origin, status, index))
    return timelines


# ---------------------------------------------------------------------------- replay


@dataclass
class ResourceReplay:
    """What happened to one resource during a replay (inspectable from tests)."""

    timeline: Timeline
    phase: int = 0
    phase_started_ms: int = 0
    created_ms: int | None = None
    polls: int = 0
    states: list[str] = field(default_factory=list)
    last_ms: int = 0
    served_in_phase: dict[int, int] = field(default_factory=dict)  # phase -> highest poll position served
    _phase_polls: int = 0

    @property
    def virtual_ms(self) -> int:
        """Virtual time from the resource's creation (or first sight) to its last request."""
        return self.last_ms - (self.created_ms or 0)

    def enter_phase(self, trigger_index: int, now_ms: int) -> None:
        for number, phase in enumerate(self.timeline.phases):
            if phase.trigger == trigger_index:
                self.phase = number
                break
        self.phase_started_ms = now_ms
        # When a poll began the phase, the first replayed poll is answered with it.
        self._phase_polls = -1 if self.timeline.phases[self.phase].by_poll else 0
        if self.created_ms is None:
            self.created_ms = now_ms
        self._saw(self.timeline.phases[self.phase].states[0].status, now_ms)

    def serve_poll(self, mode: ReplayMode, now_ms: int) -> State:
        phase = self.timeline.phases[self.phase]
        states = phase.states
        self._phase_polls += 1
        if mode is ReplayMode.TIMELINE:
            position = phase.position_at(now_ms - self.phase_started_ms + TIMELINE_TOLERANCE_MS)
        elif mode is ReplayMode.SEQUENCE:
            position = min(max(self._phase_polls, 0), len(states) - 1)
        else:
            distinct = phase.distinct_positions()
            position = distinct[min(max(self._phase_polls, 0), len(distinct) - 1)]
        previous = self.served_in_phase.get(self.phase, 0)
        self.served_in_phase[self.phase] = max(previous, position)
        self.polls += 1
        chosen = states[position]
        self._saw(chosen.status, now_ms)
        return chosen

    def _saw(self, status: str, now_ms: int) -> None:
        if not self.states or self.states[-1] != status:
            self.states.append(status)
        self.last_ms = now_ms

    def covered(self) -> set[int]:
        """Interactions this replay used or skipped past (timeline mode skips polls)."""
        out: set[int] = set()
        for number, position in self.served_in_phase.items():
            out.update(s.interaction for s in self.timeline.phases[number].states[: position + 1])
        return out


def _distinct_positions(states: list[State]) -> list[int]:
    positions = [0]
    for number in range(1, len(states)):
        if states[number].status != states[positions[-1]].status:
            positions.append(number)
    return positions
