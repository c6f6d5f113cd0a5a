"""What a session reports when it ends: schema violations and interactions never replayed.

Each check returns the problem (an error to raise, or a warning already issued) so the
session can hand errors to whoever ran it (``use_cassette``, the pytest plugin).
"""

from __future__ import annotations

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


def unused_problem(
    left: Sequence[int], interactions: Sequence[Interaction], cassette: str, policy: UnusedPolicy
) -> RunReplayError | None:
    """Report recorded interactions (by index) that the replay neither served nor skipped past."""
    if not left or policy is UnusedPolicy.IGNORE:
        return None
    listing = "\n".join(f"  #{n} {interactions[n].request.method} {interactions[n].request.url}" for n in left[:10])
    more = f"\n  ... and {len(left) - 10} more" if len(left) > 10 else ""
    message = (
        f"runreplay: {len(left)} recorded interaction(s) in {cassette} were never replayed:\n{listing}{more}\n"
        "The code under test stopped earlier than the recording did (e.g. it polled less)."
    )
    if policy is UnusedPolicy.ERROR:
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
