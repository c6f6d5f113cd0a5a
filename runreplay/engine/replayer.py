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
from runreplay.engine.ids import named_id, reply_ids
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
from runreplay.errors import RepeatedRequestError, UnmatchedRequestError, hide_frame
from runreplay.options import MatchConfig, ReplayMode, ToolOutputs
from runreplay.providers import Routed, find
from runreplay.providers.base import READ_METHODS, Role, Route
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
        allow_repeats: bool | tuple[str, ...] = False,
    ) -> None:
        with paused_gc():  # thousands of keys and states that all survive: see paused_gc
            self.matcher = Matcher(interactions, match)
            #: The lifecycle step of each recorded interaction, in order.
            self.steps: list[Step | None] = [step_of(i.request) for i in self.matcher.interactions]
            self.timelines: dict[str, Timeline] = build_timelines(self.matcher.interactions, self.steps)
            # A request naming a resource by a recorded URL alias finds the same timeline.
            for timeline in list(self.timelines.values()):
                for alias in timeline.alias_keys:
                    self.timelines.setdefault(alias, timeline)
            #: The same steps by match key: a replayed request with a recorded key is that
            #: step (routing it again would only cost time).
            self._steps: dict[RequestKey, Step | None] = {}
            for key, step in zip(self.matcher.keys, self.steps, strict=True):
                self._steps.setdefault(key, step)
        self.match = match
        self.mode = mode
        self.tool_outputs = tool_outputs
        self.name = name
        self.allow_repeats = allow_repeats
        #: Whether a request (by key) may be served again once its recordings are used up.
        self._repeatable: dict[RequestKey, bool] = {}
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
        __tracebackhide__ = hide_frame
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
            if self.matcher.exhausted(key) and not self._may_repeat(request, key):
                raise RepeatedRequestError(self._repeat_message(request, key))
            index = self.matcher.take(key)
            if index is None:
                return None
            if found is not None and found.role is not Role.POLL:
                self._entered(index, now_ms)
            return self.interactions[index]

    def explain_miss(self, request: Request) -> str:
        """The miss message: the closest recordings (its own route's first) and re-record advice."""
        routed = find(request)
        route = _route_of(routed)
        same_route = {n for n, i in enumerate(self.interactions) if route and _route_of(find(i.request)) is route}
        recorded_ids: set[str] = set()
        for interaction in self.interactions:
            recorded_ids |= reply_ids(interaction.response)
        return self.matcher.explain_miss(
            self.key(request),
            self.name,
            preferred=same_route,
            route=f"{routed.provider.name} {routed.route.name}" if routed is not None else None,
            advice=rerecord_advice(route, named_id(request, recorded_ids)),
        )

    # ------------------------------------------------------------------ repeats

    def _may_repeat(self, request: Request, key: RequestKey) -> bool:
        """Whether a request whose recordings were all served may get the last one again."""
        if self.allow_repeats is True:
            return True
        allowed = self._repeatable.get(key)
        if allowed is None:
            route = _route_of(find(request))
            if route is None:  # no provider knows it: HTTP's own rule, reads may repeat
                allowed = request.method.upper() in READ_METHODS
            else:
                allowed = route.repeatable or (
                    isinstance(self.allow_repeats, tuple) and route.name in self.allow_repeats
                )
            self._repeatable[key] = allowed
        return allowed

    def _repeat_message(self, request: Request, key: RequestKey) -> str:
        route = _route_of(find(request))
        recorded = self.matcher.recorded_count(key)
        what = f"{route.name}, role {route.role.value}" if route is not None else f"{request.method.upper()}"
        named = route.name if route is not None else "<route name>"
        times = "once" if recorded == 1 else f"{recorded} times"
        return (
            f"runreplay: {request.method.upper()} {request.path} ({what}) is asked for the {_nth(recorded + 1)} "
            f"time, but {self.name} recorded it {times}.\n"
            "A request that creates or changes something is served once per recording: against the live API "
            "a second one would make a second resource (or act twice), which replaying the first reply again "
            "would hide.\n"
            f"If the code under test means to send it again, allow it with allow_repeats=True or "
            f"allow_repeats=[{named!r}] (a marker or use_cassette keyword, or the ini key runreplay_allow_repeats); "
            "if the code now sends it more often than when recorded, re-record with --record-mode=rewrite."
        )

    def _replay_for(self, found: Step) -> ResourceReplay | None:
        key = found.key
        timeline = self.timelines.get(key)
        if timeline is None:
            return None
        replay = self.resources.get(timeline.key)  # by its own key: the request may name an alias
        if replay is None:
            replay = self.resources[timeline.key] = ResourceReplay(timeline)
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
        __tracebackhide__ = hide_frame
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

    def left_repeats_replayed(self, left: Sequence[int]) -> bool:
        """Whether the first unused request (polls aside) is one that was replayed already.

        Then the cassette holds the same exchanges more than once, as ``--record-mode=all``
        leaves it (it adds a recording to the old one), rather than the code stopping early.
        """
        first = next((n for n in left if (step := self.steps[n]) is None or step.role is not Role.POLL), None)
        if first is None:
            return False
        key = self.matcher.keys[first]
        return any(self.matcher.keys[n] == key for n in self.matcher.used)

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


def _route_of(routed: Routed | None) -> Route | None:
    return routed.route if routed is not None else None


def _nth(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def rerecord_advice(route: Route | None, recorded_id: str | None) -> str:
    """What to do about a miss, right for a stateful API (``new_episodes`` mixes recorded ids into live calls)."""
    if route is not None and route.creates:
        return (
            f"This request creates a resource ({route.name}) and the test's later requests depend on it: if the "
            "change is expected, re-record the test with --record-mode=rewrite. Under new_episodes the live server "
            "would create it while later requests replay recorded ids, which that server never gave out, and its "
            "404s would be recorded for good."
        )
    if recorded_id is not None:
        return (
            f"This request names {recorded_id}, an id only the recording gave out: if the change is expected, "
            "re-record the test with --record-mode=rewrite (under new_episodes the live server would not know it)."
        )
    return (
        "If the change is expected, re-record: --record-mode=new_episodes adds this request (it names no "
        "recorded id), --record-mode=rewrite records the whole test afresh."
    )
