"""Choosing the recorded response for a request during replay.

Polls of a resource with a lifecycle (an OpenAI run, a Coze chat) are answered from the
resource's timeline according to the replay mode; creates and mutations move the
resource into its next recorded phase; every other request goes to the :class:`Matcher`
(recorded order, then the last one repeats).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from runreplay.cassette import Interaction, Request, paused_gc
from runreplay.errors import UnmatchedRequestError
from runreplay.lifecycle import (
    Classified,
    ReplayMode,
    ResourceReplay,
    ResourceSpec,
    Timeline,
    build_timelines,
    classify,
)
from runreplay.matching import MatchConfig, Matcher, RequestKey, make_key

#: Tool output policies: the outputs' text must match the recording, or only their ids.
TOOL_OUTPUT_POLICIES = ("match", "ids")


@dataclass(frozen=True)
class ReplayOptions:
    mode: ReplayMode = ReplayMode.TIMELINE
    tool_outputs: str = "match"

    def __post_init__(self) -> None:
        if self.tool_outputs not in TOOL_OUTPUT_POLICIES:
            raise ValueError(f"tool_outputs must be one of {TOOL_OUTPUT_POLICIES}, not {self.tool_outputs!r}")


class Prepared(NamedTuple):
    """A request as matching sees it, with its key and its place in a resource's lifecycle."""

    request: Request
    key: RequestKey
    found: Classified | None


class Replayer:
    def __init__(
        self,
        interactions: Sequence[Interaction],
        match: MatchConfig,
        specs: Sequence[ResourceSpec],
        options: ReplayOptions,
        name: str,
    ) -> None:
        with paused_gc():  # thousands of keys and states that all survive: see paused_gc
            self.matcher = Matcher(interactions, match)
            self.timelines: dict[str, Timeline] = build_timelines(self.matcher.interactions, specs)
        self.match = match
        self.specs = specs
        self.options = options
        self.name = name
        self.resources: dict[str, ResourceReplay] = {}
        self._lock = threading.Lock()

    @property
    def interactions(self) -> list[Interaction]:
        return self.matcher.interactions

    def add(self, interaction: Interaction) -> None:
        """An interaction recorded during this session (new_episodes) becomes replayable."""
        with self._lock:
            self.matcher.add(interaction)

    def key(self, request: Request) -> RequestKey:
        headers = request.headers.items() if self.match.match_headers else ()  # items() copies the list
        return make_key(request.method, request.url, request.body, self.match, headers)

    def prepare(self, request: Request) -> Prepared:
        """Everything about ``request`` that does not depend on what was replayed before it."""
        return Prepared(request, self.key(request), classify(request, self.specs) if self.timelines else None)

    # ------------------------------------------------------------------ answering

    def respond(self, request: Request, now_ms: int) -> Interaction | None:
        """The interaction to replay, or None when nothing recorded matches."""
        return self.answer(self.prepare(request), now_ms)

    def answer(self, prepared: Prepared, now_ms: int) -> Interaction | None:
        """:meth:`respond` for a request already prepared (and perhaps cached by the caller)."""
        request, key, found = prepared.request, prepared.key, prepared.found
        with self._lock:
            if found is not None and found.role == "poll" and self.matcher.has(key):
                replay = self._replay_for(found)
                if replay is not None:
                    if replay.created_ms is None:
                        replay.enter_phase(replay.timeline.phases[0].trigger, now_ms)
                    state = replay.serve_poll(self.options.mode, now_ms)
                    self.matcher.used.add(state.interaction)
                    return self.interactions[state.interaction]
            if found is not None and found.route.name == "submit_tool_outputs":
                checked = self._check_tool_outputs(request, found)
                if checked is not None:
                    self.matcher.used.add(checked)
                    self._entered(found, checked, now_ms)
                    return self.interactions[checked]
            index = self.matcher.take(key)
            if index is None:
                return None
            if found is not None and found.role != "poll":
                self._entered(found, index, now_ms)
            return self.interactions[index]

    def explain_miss(self, request: Request) -> str:
        return self.matcher.explain_miss(self.key(request), self.name)

    def _replay_for(self, found: Classified) -> ResourceReplay | None:
        key = f"{found.spec.provider}:{found.spec.kind}:{found.resource_id}"
        timeline = self.timelines.get(key)
        if timeline is None:
            return None
        replay = self.resources.get(key)
        if replay is None:
            replay = self.resources[key] = ResourceReplay(timeline)
        return replay

    def _entered(self, found: Classified, index: int, now_ms: int) -> None:
        """A create or mutation was replayed: its resource enters the phase it began."""
        for timeline in self.timelines.values():
            if any(phase.trigger == index for phase in timeline.phases):
                key = timeline.key
                replay = self.resources.get(key)
                if replay is None:
                    replay = self.resources[key] = ResourceReplay(timeline)
                replay.enter_phase(index, now_ms)
                return

    # ------------------------------------------------------------------ tool calls

    def _check_tool_outputs(self, request: Request, found: Classified) -> int | None:
        """Compare a submit_tool_outputs with the recorded one for the resource's next phase.

        Returns the recorded interaction to replay when the policy accepts the request,
        None to fall back to plain matching, and raises when ids are missing or extra.
        """
        spec = found.spec
        if spec.tool_outputs is None:
            return None
        replay = self._replay_for(found)
        if replay is None:
            return None
        expected_index = next(
            (
                p.trigger
                for n, p in enumerate(replay.timeline.phases)
                if n > replay.phase and p.trigger_name == "submit_tool_outputs"
            ),
            None,
        )
        if expected_index is None:
            return None
        recorded_request = self.interactions[expected_index].request
        recorded = spec.tool_outputs(recorded_request.body.value if recorded_request.body.kind == "json" else None)
        submitted = spec.tool_outputs(request.body.value if request.body.kind == "json" else None)
        label = f"{spec.provider} {spec.kind} {found.resource_id}"
        missing = [i for i in recorded if i not in submitted]
        extra = [i for i in submitted if i not in recorded]
        if missing or extra:
            raise UnmatchedRequestError(
                f"runreplay: tool-call round trip broken for {label} in {self.name}:\n"
                f"  the recording submitted outputs for tool_call_ids {sorted(recorded)}\n"
                f"  this request submits outputs for              {sorted(submitted)}\n"
                f"  missing: {missing or '-'}   extra: {extra or '-'}\n"
                "Answer exactly the tool calls the replayed requires_action asked for."
            )
        differing = [i for i in recorded if recorded[i] != submitted[i]]
        if differing and self.options.tool_outputs == "match":
            details = "\n".join(
                f"  {call}: recorded {recorded[call]!r}\n  {' ' * len(call)}  submitted {submitted[call]!r}"
                for call in differing
            )
            raise UnmatchedRequestError(
                f"runreplay: tool outputs differ from the recording for {label} in {self.name}:\n{details}\n"
                "Use tool_outputs='ids' to match on tool_call_ids only."
            )
        return expected_index if self.options.tool_outputs == "ids" else None

    # ------------------------------------------------------------------ afterwards

    def unused(self) -> list[int]:
        """Indexes of recorded interactions that were neither served nor skipped past."""
        covered = set(self.matcher.used)
        for replay in self.resources.values():
            covered |= replay.covered()
        return [n for n in range(len(self.interactions)) if n not in covered]
