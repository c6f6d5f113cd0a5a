"""What a session reports when it ends: schema violations and interactions never replayed.

Each check returns the problem (an error to raise, or a warning already issued) so the
session can hand errors to whoever ran it (``use_cassette``, the pytest plugin).
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Sequence

from runreplay.cassette import Interaction
from runreplay.checks.validation import Violation, format_violations, validate_interaction
from runreplay.errors import (
    RealSleepWarning,
    RunReplayError,
    SchemaViolationError,
    SchemaViolationWarning,
    UnusedInteractionsError,
    UnusedInteractionsWarning,
)
from runreplay.options import UnusedPolicy, ValidatePolicy


def schema_problems(
    checked: Sequence[tuple[int, Interaction]], cassette: str, policy: ValidatePolicy, found: list[Violation]
) -> RunReplayError | None:
    """Check ``(index, interaction)`` pairs against the schemas; violations are added to ``found``."""
    if policy is ValidatePolicy.OFF or not checked:
        return None
    for index, interaction in checked:
        found += validate_interaction(interaction, index=index, cassette=cassette)
    if not found:
        return None
    message = "runreplay: payloads break their documented schema:\n" + format_violations(found)
    if policy is ValidatePolicy.ERROR:
        return SchemaViolationError(message)
    warnings.warn(SchemaViolationWarning(message), stacklevel=4)
    return None


class UnusedCause(enum.Enum):
    """Why recorded interactions were left unused, as far as the session can tell."""

    #: The code under test stopped before the recording did.
    EARLY_STOP = "early"
    #: The test ended with an exception first (the plugin knows its outcome).
    TEST_FAILED = "failed"
    #: The cassette holds the same exchanges twice (``--record-mode=all`` appends).
    DUPLICATES = "duplicates"


def unused_problem(
    left: Sequence[int],
    interactions: Sequence[Interaction],
    cassette: str,
    policy: UnusedPolicy,
    *,
    cause: UnusedCause = UnusedCause.EARLY_STOP,
    why: str | None = None,
) -> RunReplayError | None:
    """Report recorded interactions (by index) that the replay neither served nor skipped past.

    A test that already failed gets a warning whatever the policy: its own failure is the
    news, and the unused interactions only follow from it.
    """
    if not left or policy is UnusedPolicy.IGNORE:
        return None
    listing = "\n".join(f"  #{n} {interactions[n].request.method} {interactions[n].request.url}" for n in left[:10])
    more = f"\n  ... and {len(left) - 10} more" if len(left) > 10 else ""
    replayed = len(interactions) - len(left)
    if cause is UnusedCause.TEST_FAILED:
        head = f"{len(left)} recorded interaction(s) in {cassette} were not replayed because the test failed first"
        tail = (
            f"{why or 'The test failed'} after {replayed} replayed interaction(s): its own failure is the cause; "
            "nothing here says the code polled less or that the cassette needs re-recording."
        )
    elif cause is UnusedCause.DUPLICATES:
        head = f"{len(left)} recorded interaction(s) in {cassette} were never replayed"
        tail = (
            "The first of them repeats a request the test already replayed: the cassette holds the same exchanges "
            "more than once, as --record-mode=all leaves it (it adds a new recording to the old one). Re-record "
            "with --record-mode=rewrite to keep one, or, if the code now sends that request fewer times than when "
            "recorded, that is the change."
        )
    else:
        head = f"{len(left)} recorded interaction(s) in {cassette} were never replayed"
        tail = (
            "The code under test stopped earlier than the recording did (e.g. it polled less, or never sent "
            "these requests)."
        )
    message = f"runreplay: {head}:\n{listing}{more}\n{tail}"
    if policy is UnusedPolicy.ERROR and cause is not UnusedCause.TEST_FAILED:
        return UnusedInteractionsError(message)
    warnings.warn(UnusedInteractionsWarning(message), stacklevel=4)
    return None


def real_wait_warning(idle_s: float, longest_s: float, threshold_s: float, cassette: str) -> None:
    """Warn when a replay on the virtual clock spent ``idle_s`` wall seconds idle (a real sleep)."""
    if idle_s < threshold_s:
        return
    message = (
        f"runreplay: the replay of {cassette} sat idle for {idle_s:.1f} s of real time "
        f"(longest stretch {longest_s:.1f} s) while the virtual clock was active: something slept "
        "for real. The clock replaces time.sleep, time.monotonic, asyncio.sleep "
        "and anyio.sleep, also where a module outside the standard library bound them at import; "
        "it does not reach a sleep kept elsewhere (a default argument, an attribute, a standard-library "
        "wait such as threading.Event.wait). See docs/polling-and-virtual-clock.md."
    )
    warnings.warn(RealSleepWarning(message), stacklevel=4)
