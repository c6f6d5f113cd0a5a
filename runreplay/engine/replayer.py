"""Choosing the recorded response for a request during replay.

Polls of a resource with a lifecycle (an OpenAI run, a Coze chat) are answered from the
resource's timeline according to the replay mode; creates and mutations move the
resource into its next recorded phase; every other request goes to the :class:`Matcher`
(recorded order, then the last one repeats).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, NamedTuple

from runreplay.cassette import Body, BodyKind, Interaction, Request, Response, paused_gc
from runreplay.engine._recent import Recent
from runreplay.engine.matching import Matcher, RequestKey, key_diff, make_key
from runreplay.engine.scrub import Scrubber
from runreplay.engine.timeline import (
    ResourceReplay,
    Step,
    Timeline,
    build_timelines,
    step_of,
    streamed_resource,
    timeline_key,
)
from runreplay.errors import UnmatchedRequestError
from runreplay.options import MatchConfig, ReplayMode, ToolOutputs
from runreplay.providers.base import Role
from runreplay.sse import SSEEvent


class Prepared(NamedTuple):
    """A request as matching sees it, with its key and its place in a resource's lifecycle."""

    request: Request
    key: RequestKey
    found: Step | None


class Preparer:
    """Prepares each request for the replayer, remembering the last few (polls repeat them).

    ``scrubber`` (when given) scrubs a request before it is keyed, so it compares in the
    terms of a cassette that holds pseudonyms. A prepared form is reused for a request with
    the same method, URL and body bytes, until the scrubber learns a new secret (which may
    change a scrubbed form) or when headers take part in matching.
    """

    def __init__(self, replayer: Replayer, scrubber: Scrubber | None) -> None:
        self.replayer = replayer
        self.scrubber = scrubber
        self._memo: Recent[tuple[str, str, bytes], Prepared] = Recent()
        self._version = scrubber.version if scrubber is not None else 0
        self._memoise = not replayer.match.match_headers

    def prepare(self, request: Request, raw_body: bytes | None) -> Prepared:
        scrubber = self.scrubber
        version = scrubber.version if scrubber is not None else 0
        if version != self._version:
            self._memo.clear()
            self._version = version
        memo_key = None
        if raw_body is not None and self._memoise:
            memo_key = (request.method, request.url, raw_body)
            prepared = self._memo.get(memo_key)
            if prepared is not None:
                return prepared
        if scrubber is not None:
            request = scrubber.for_matching(request)
        prepared = self.replayer.prepare(request)
        if memo_key is not None and (scrubber is None or scrubber.version == version):
            self._memo.put(memo_key, prepared)
        return prepared


class Replayer:
    def __init__(
        self,
        interactions: Sequence[Interaction],
        match: MatchConfig,
        *,
        mode: ReplayMode = ReplayMode.TIMELINE,
        tool_outputs: ToolOutputs = ToolOutputs.MATCH,
        name: str = "<cassette>",
    ) -> None:
        with paused_gc():  # thousands of keys and states that all survive: see paused_gc
            self.matcher = Matcher(interactions, match)
            #: The lifecycle step of each recorded interaction, in order.
            self.steps: list[Step | None] = [step_of(i.request) for i in self.matcher.interactions]
            self.timelines: dict[str, Timeline] = build_timelines(self.matcher.interactions, self.steps)
            #: The same steps by match key: a replayed request with a recorded key is that
            #: step (routing it again would only cost time).
            self._steps: dict[RequestKey, Step | None] = {}
            for key, step in zip(self.matcher.keys, self.steps, strict=True):
                self._steps.setdefault(key, step)
        self.match = match
        self.mode = mode
        self.tool_outputs = tool_outputs
        self.name = name
        self.resources: dict[str, ResourceReplay] = {}
        #: Whether any recorded request belongs to a lifecycle (else none is looked up).
        self._lifecycles = any(step is not None for step in self.steps)
        #: The recorded streams of each resource, by timeline key (built on first use).
        self._streams: dict[str, list[int]] | None = None
        self._lock = threading.Lock()

    @property
    def interactions(self) -> list[Interaction]:
        return self.matcher.interactions

    def add(self, interaction: Interaction) -> None:
        """An interaction recorded during this session (new_episodes) becomes replayable."""
        with self._lock:
            self.matcher.add(interaction)
            step = step_of(interaction.request)
            self.steps.append(step)
            self._steps.setdefault(self.matcher.keys[-1], step)
            self._streams = None  # rebuilt on next use

    def key(self, request: Request) -> RequestKey:
        return make_key(request, self.match)

    def prepare(self, request: Request) -> Prepared:
        """Everything about ``request`` that does not depend on what was replayed before it."""
        key = self.key(request)
        if not self._lifecycles:
            return Prepared(request, key, None)
        # A request no recording matches can still be a submit whose tool outputs differ.
        found = self._steps[key] if key in self._steps else step_of(request)
        return Prepared(request, key, found)

    # ------------------------------------------------------------------ answering

    def answer(self, prepared: Prepared, now_ms: int) -> Interaction | None:
        """:meth:`respond` for a request already prepared (and perhaps cached by the caller)."""
        request, key, found = prepared.request, prepared.key, prepared.found
        with self._lock:
            if found is not None and found.role is Role.POLL and self.matcher.has(key):
                replay = self._replay_for(found)
                if replay is not None:
                    if replay.created_ms is None:
                        replay.enter_phase(replay.timeline.phases[0].trigger, now_ms)
                    state = replay.serve_poll(self.mode, now_ms)
                    if state is not None:
                        self.matcher.used.add(state.interaction)
                        return self.interactions[state.interaction]
            if found is not None and found.role is Role.STREAM_RESUME:
                resumed = self._resume(request, found)
                if resumed is not None:
                    if self.matcher.has(key):
                        self.matcher.take(key)  # a recorded resume is covered by this one
                    return resumed
            if found is not None and found.answered is not None:
                checked = self._check_tool_outputs(request, found)
                if checked is not None:
                    self.matcher.used.add(checked)
                    self._entered(checked, now_ms)
                    return self.interactions[checked]
            index = self.matcher.take(key)
            if index is None:
                return None
            if found is not None and found.role is not Role.POLL:
                self._entered(index, now_ms)
            return self.interactions[index]

    def explain_miss(self, request: Request) -> str:
        return self.matcher.explain_miss(self.key(request), self.name)

    def _replay_for(self, found: Step) -> ResourceReplay | None:
        key = found.key
        timeline = self.timelines.get(key)
        if timeline is None:
            return None
        replay = self.resources.get(key)
        if replay is None:
            replay = self.resources[key] = ResourceReplay(timeline)
        return replay

    def _entered(self, index: int, now_ms: int) -> None:
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

    def _check_tool_outputs(self, request: Request, found: Step) -> int | None:
        """Compare an answer to tool calls with the recorded answer to the same resource's calls.

        The recorded answer is the first one not replayed yet on the same route for the same
        resource (a run's submit_tool_outputs, a response created with function call
        outputs), whether that resource was polled or streamed. Returns the recorded
        interaction to replay when the policy accepts the request, None to fall back to
        plain matching, and raises when ids are missing or extra.
        """
        lifecycle = found.lifecycle
        outputs = lifecycle.tool_outputs
        if outputs is None or (lifecycle.answers is not None and not outputs(request.body.json_value)):
            return None  # a create that answers nothing is just a create
        expected_index = next(
            (
                index
                for index, step in enumerate(self.steps)
                if step is not None
                and step.route is found.route
                and step.answered == found.answered
                and index not in self.matcher.used
                and outputs(self.interactions[index].request.body.json_value)
            ),
            None,
        )
        if expected_index is None:
            return None
        recorded_request = self.interactions[expected_index].request
        recorded = outputs(recorded_request.body.json_value)
        submitted = outputs(request.body.json_value)
        label = f"{found.provider} {lifecycle.kind} {found.answered}"
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
        if differing and self.tool_outputs is ToolOutputs.MATCH:
            details = "\n".join(
                f"  {call}: recorded {recorded[call]!r}\n  {' ' * len(call)}  submitted {submitted[call]!r}"
                for call in differing
            )
            raise UnmatchedRequestError(
                f"runreplay: tool outputs differ from the recording for {label} in {self.name}:\n{details}\n"
                "Use tool_outputs='ids' to match on tool_call_ids only."
            )
        if self.tool_outputs is not ToolOutputs.IDS:
            return None
        self._same_but_outputs(request, expected_index, {submitted[c]: recorded[c] for c in differing}, label)
        return expected_index

    def _same_but_outputs(self, request: Request, index: int, texts: dict[str, str], label: str) -> None:
        """Under ``tool_outputs='ids'`` only the output texts may differ from the recorded answer.

        Anything else (a plain submit where a streamed one was recorded, other parameters)
        would get a continuation it did not ask for: an event stream for a JSON request.
        ``texts`` maps each submitted output text to the recorded one, to compare the rest.
        """
        body = request.body
        if texts and body.kind is BodyKind.JSON:
            body = Body.json(_replace_strings(body.value, texts))
        key, recorded = self.key(request.replace(body=body)), self.matcher.keys[index]
        if key == recorded:
            return
        raise UnmatchedRequestError(
            "\n".join(
                [
                    f"runreplay: this answer to the tool calls of {label} in {self.name} differs from the "
                    "recorded one in more than its output texts (diff: - recorded, + this request, "
                    "outputs as recorded):",
                    "",
                    *key_diff(recorded, key, f"interaction #{index}"),
                    "",
                    "tool_outputs='ids' lets only the output texts differ; re-record if the rest changed.",
                ]
            )
        )

    # ------------------------------------------------------------------ stream resumes

    def _resume(self, request: Request, found: Step) -> Interaction | None:
        """A resumed stream: the resource's recorded events after the one the request names.

        Every recorded stream of the resource contributes (the first one may have been cut
        where the client resumed it), each event once, in stream order; the resume request
        itself need not have been recorded.
        """
        position = found.lifecycle.event_position
        cursor_name = found.route.cursor
        if position is None or cursor_name is None:
            return None
        indexes = self._recorded_streams().get(found.key)
        if not indexes:
            return None
        cursor = next((v for k, v in request.query() if k == cursor_name), "")
        after = int(cursor) if cursor.lstrip("-").isdigit() else -1
        events: dict[int, SSEEvent] = {}
        for index in indexes:
            for event in self.interactions[index].response.body.events:
                number = position(event)
                if number is not None and number > after:
                    events.setdefault(number, event)
        first = self.interactions[indexes[0]]
        for index in indexes:
            self.matcher.used.add(index)
        body = Body.sse([events[n] for n in sorted(events)], first.response.body.framing)
        response = Response(first.response.status, first.response.headers, body, first.response.reason)
        return Interaction(request, response, at_ms=first.at_ms)

    def _recorded_streams(self) -> dict[str, list[int]]:
        """Indexes of the recorded event streams of each resource, by timeline key."""
        if self._streams is None:
            streams: dict[str, list[int]] = {}
            for index, (interaction, step) in enumerate(zip(self.interactions, self.steps, strict=True)):
                if step is None or interaction.response.body.kind is not BodyKind.SSE:
                    continue
                obj = streamed_resource(step.lifecycle, interaction.response.body)
                resource_id = str(obj.get("id")) if obj is not None and obj.get("id") else step.resource_id
                if resource_id:
                    streams.setdefault(timeline_key(step.provider, step.lifecycle.kind, resource_id), []).append(index)
            self._streams = streams
        return self._streams

    # ------------------------------------------------------------------ afterwards

    def unused(self) -> list[int]:
        """Indexes of recorded interactions that were neither served nor skipped past."""
        covered = set(self.matcher.used)
        for replay in self.resources.values():
            covered |= replay.covered()
        return [n for n in range(len(self.interactions)) if n not in covered]


def _replace_strings(value: Any, texts: dict[str, str]) -> Any:
    """``value`` with every string that is a key of ``texts`` replaced by its value."""
    if isinstance(value, str):
        return texts.get(value, value)
    if isinstance(value, dict):
        return {k: _replace_strings(v, texts) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_strings(v, texts) for v in value]
    return value
