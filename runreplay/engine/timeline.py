"""Resources with a lifecycle (a run, a chat): their recorded timelines and their replay.

Providers declare which routes create, poll and mutate a resource (:class:`Role`). From a
cassette's interactions we build each resource's :class:`Timeline`: phases, each begun by
the create or a mutating call, each holding the states that polls saw, with their time
since the phase began. Replay then answers a poll from the timeline according to the
replay mode instead of "the next identical request".
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from runreplay.cassette import Body, BodyKind, Interaction, Request
from runreplay.options import ReplayMode
from runreplay.providers import find
from runreplay.providers.base import Lifecycle, Role, Route

#: Clock jitter forgiven when comparing a replayed poll's time with recorded times: the
#: replay and the recording run the same client code, but not in exactly the same time.
TIMELINE_TOLERANCE_MS = 10


class Step(NamedTuple):
    """A request's place in a resource's lifecycle (a tuple: made for every request replayed)."""

    provider: str
    lifecycle: Lifecycle
    route: Route
    role: Role
    resource_id: str | None
    #: ``provider:kind:id``, the timeline's key (for a create: the id is in the reply, not here).
    key: str
    #: For a request that answers tool calls: the id of the resource that asked for them.
    answered: str | None = None


def timeline_key(provider: str, kind: str, resource_id: str | None) -> str:
    return f"{provider}:{kind}:{resource_id}"


def step_of(request: Request) -> Step | None:
    """Where ``request`` stands in a lifecycle (None for requests outside every lifecycle)."""
    routed = find(request)
    if routed is None or routed.route.resource is None:
        return None
    lifecycle = routed.lifecycle
    if lifecycle is None:
        return None
    provider, route = routed.provider.name, routed.route
    resource_id = routed.resource_id(request)
    key = timeline_key(provider, lifecycle.kind, resource_id)
    answered = None
    if route.name == lifecycle.submit:
        answers = lifecycle.answers
        answered = answers.read(request, routed.params) if answers is not None else resource_id
    return Step(provider, lifecycle, route, route.role, resource_id, key, answered)


def streamed_states(lifecycle: Lifecycle, body: Body) -> list[dict[str, Any]]:
    """Every state of its resource a stream showed, in stream order (empty: not a stream, or none)."""
    if body.kind is not BodyKind.SSE or lifecycle.event_resource is None:
        return []
    found = []
    for event in body.events:
        obj = lifecycle.event_resource(event)
        if isinstance(obj, dict) and "status" in obj:
            found.append(obj)
    return found


def streamed_resource(lifecycle: Lifecycle, body: Body) -> dict[str, Any] | None:
    """The last state of its resource a stream showed (``None``: not a stream, or no such event)."""
    states = streamed_states(lifecycle, body)
    return states[-1] if states else None


def _walk(statuses: Iterable[str]) -> list[str]:
    """``statuses`` with repeats in a row dropped: each change once."""
    walked: list[str] = []
    for status in statuses:
        if not walked or walked[-1] != status:
            walked.append(status)
    return walked


# ---------------------------------------------------------------------------- timelines


@dataclass(slots=True)
class State:
    at_ms: int  # since the phase began
    status: str
    interaction: int


@dataclass
class Phase:
    trigger: int  # the interaction that began the phase (create or mutation)
    #: The name of the route that began it (``create_run``, ``submit_tool_outputs``).
    trigger_name: str
    role: Role = Role.CREATE
    #: The trigger answered with an event stream: its state counts, but a poll is never
    #: answered with it (polls get JSON).
    streamed: bool = False
    states: list[State] = field(default_factory=list)  # states[0] is the trigger's own response
    #: For a streamed trigger: the statuses its events walked through, each change once (the
    #: last one is ``states[0]``'s). A stream shows the client every status, as polls would.
    walk: list[str] = field(default_factory=list)
    #: (number of states, their times when in order) and (number of states, distinct-status
    #: positions), each built on first use: a poll then costs O(log n), not a scan of every state.
    _times: tuple[int, list[int] | None] = field(default=(-1, None), init=False, repr=False, compare=False)
    _distinct: tuple[int, list[int]] = field(default=(-1, []), init=False, repr=False, compare=False)

    @property
    def by_poll(self) -> bool:
        """The resource's creation is not in the cassette: its first poll began the phase."""
        return self.role is Role.POLL

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

    def statuses(self) -> list[str]:
        """The statuses the client saw in this phase: the trigger's stream (or reply), then the polls."""
        return _walk(itertools.chain(self.walk, (s.status for s in self.states)))

    def distinct_positions(self) -> list[int]:
        """Positions where the status changes (``fast`` mode walks these)."""
        count, positions = self._distinct
        if count != len(self.states):
            positions = _distinct_positions(self.states)
            self._distinct = (len(self.states), positions)
        return positions


@dataclass
class Timeline:
    provider: str
    lifecycle: Lifecycle
    resource_id: str
    phases: list[Phase] = field(default_factory=list)
    #: Other ids the recorded URLs name this resource by (a sanitizer replaced the id in
    #: URLs but not in bodies): the object the server returned links them.
    aliases: list[str] = field(default_factory=list)

    @property
    def alias_keys(self) -> list[str]:
        return [timeline_key(self.provider, self.kind, alias) for alias in self.aliases]

    @property
    def kind(self) -> str:
        return self.lifecycle.kind

    @property
    def key(self) -> str:
        return timeline_key(self.provider, self.kind, self.resource_id)

    def statuses(self) -> list[str]:
        """The recorded statuses in order, each change once."""
        return _walk(status for phase in self.phases for status in phase.statuses())

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "kind": self.kind,
            "id": self.resource_id,
            "phases": [
                {
                    "trigger": p.trigger_name,
                    "interaction": p.trigger,
                    "states": [{"at_ms": s.at_ms, "status": s.status, "interaction": s.interaction} for s in p.states],
                    **({"streamed": p.walk} if p.walk else {}),
                }
                for p in self.phases
            ],
        }


def build_timelines(
    interactions: Sequence[Interaction], steps: Sequence[Step | None] | None = None
) -> dict[str, Timeline]:
    """Each resource's phases and states, in recorded order (``steps``: each interaction's
    :func:`step_of`, when the caller has them already)."""
    if steps is None:
        steps = [step_of(i.request) for i in interactions]
    timelines: dict[str, Timeline] = {}
    for index, (interaction, step) in enumerate(zip(interactions, steps, strict=True)):
        if step is None or step.role not in (Role.CREATE, Role.POLL, Role.MUTATE):
            continue
        streamed = streamed_states(step.lifecycle, interaction.response.body)
        obj = step.lifecycle.resource(interaction.response) or (streamed[-1] if streamed else None)
        if obj is not None:
            status = str(obj["status"])
        elif step.role is Role.POLL and interaction.response.status >= 400:
            # A failed poll (429 with retry-after, a 5xx) is part of what the client saw.
            status = f"http_{interaction.response.status}"
        else:
            continue
        resource_id = _resource_id(step, obj)
        if not resource_id:
            continue
        key = timeline_key(step.provider, step.lifecycle.kind, resource_id)
        timeline = timelines.get(key)
        if timeline is None:
            timeline = timelines[key] = Timeline(step.provider, step.lifecycle, resource_id)
        if step.resource_id and step.resource_id != resource_id and step.resource_id not in timeline.aliases:
            timeline.aliases.append(step.resource_id)
        if step.role is not Role.POLL or not timeline.phases:
            # A create or a mutation begins a phase; so does a poll of a resource whose
            # creation is not in the cassette.
            sse = interaction.response.body.kind is BodyKind.SSE
            walk = _walk(str(state["status"]) for state in streamed)
            timeline.phases.append(Phase(index, step.route.name, step.role, sse, walk=walk))
        phase = timeline.phases[-1]
        origin = interactions[phase.trigger].at_ms
        phase.states.append(State(interaction.at_ms - origin, status, index))
    return timelines


def _resource_id(step: Step, obj: dict[str, Any] | None) -> str | None:
    """The resource a lifecycle request's reply is about: the id of the object the server
    returned, else the one the URL names. The body wins because recordings sanitized for
    publication may replace the id in URLs only, which would split one run into two."""
    body_id = str(obj.get("id") or "") if obj is not None else ""
    if step.role is Role.CREATE:
        return body_id
    return body_id or step.resource_id


def timelines_json(interactions: Sequence[Interaction]) -> list[dict[str, Any]]:
    """The timelines as a cassette stores them (for readers of the file)."""
    return [t.to_json() for t in build_timelines(interactions).values()]


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

    @classmethod
    def recorded(cls, timeline: Timeline, interactions: Sequence[Interaction]) -> ResourceReplay:
        """The resource as its recording went: every status, every poll, and the time it spanned."""
        phases = timeline.phases
        times = [interactions[s.interaction].at_ms for p in phases for s in p.states]
        return cls(
            timeline,
            phase=len(phases) - 1,
            created_ms=interactions[phases[0].trigger].at_ms,
            polls=sum(len(p.polls) for p in phases),
            states=timeline.statuses(),
            last_ms=max(times),
        )

    @property
    def virtual_ms(self) -> int:
        """Time from the resource's creation (or first sight) to its last request: virtual in a
        replay, as recorded in a recording."""
        return self.last_ms - (self.created_ms or 0)

    @property
    def finished(self) -> bool:
        """Whether the replay reached one of the lifecycle's terminal statuses."""
        return bool(self.states) and self.states[-1] in self.timeline.lifecycle.terminal

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
        phase = self.timeline.phases[self.phase]
        for status in (*phase.walk, phase.states[0].status):  # a replayed stream shows its every status
            self._saw(status, now_ms)

    def serve_poll(self, mode: ReplayMode, now_ms: int) -> State | None:
        """The recorded state a poll gets now (None: this phase recorded no poll to answer with)."""
        phase = self.timeline.phases[self.phase]
        states = phase.states
        lowest = 1 if phase.streamed else 0
        if lowest >= len(states):
            return None
        self._phase_polls += 1
        if mode is ReplayMode.TIMELINE:
            position = phase.position_at(now_ms - self.phase_started_ms + TIMELINE_TOLERANCE_MS)
        elif mode is ReplayMode.SEQUENCE:
            position = min(max(self._phase_polls, 0), len(states) - 1)
        else:
            distinct = phase.distinct_positions()
            position = distinct[min(max(self._phase_polls, 0), len(distinct) - 1)]
        position = max(position, lowest)
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

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.timeline.key,
            "states": list(self.states),
            "polls": self.polls,
            "virtual_ms": self.virtual_ms,
            "finished": self.finished,
        }


def _distinct_positions(states: list[State]) -> list[int]:
    positions = [0]
    for number in range(1, len(states)):
        if states[number].status != states[positions[-1]].status:
            positions.append(number)
    return positions
