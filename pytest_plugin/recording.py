"""Living next to pytest-recording (VCR.py's pytest plugin) in one pytest run.

Both plugins define ``--record-mode``, ``--block-network``, ``--allowed-hosts`` and
``--disable-recording``, with the same meanings. argparse refuses a flag defined twice, so
whichever plugin registered second used to stop pytest at start-up. Now, when
pytest-recording is loaded it owns the four flags, whatever the load order, and runreplay
reads their values from it with ``config.getoption("--flag")``; when it is not (not
installed, or ``-p no:recording``), runreplay registers them itself.

The two ``--block-network`` guards also leave each other's tests alone: runreplay's spares
a test pytest-recording records, and pytest-recording's spares a test with a runreplay
session (which records, or replays behind its own guard).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

#: pytest-recording's plugin module and its option group.
MODULE = "pytest_recording.plugin"
GROUP = "recording"
#: The flags both plugins define.
SHARED = ("--record-mode", "--block-network", "--allowed-hosts", "--disable-recording")


def make_room(parser: pytest.Parser) -> None:
    """Let pytest-recording take over the shared flags if it registers them after runreplay.

    It adds them to its option group ``recording``. Created here first with argparse's
    ``resolve`` conflict handler, that group's flags replace runreplay's copies (the option
    strings move to pytest-recording's) instead of raising a conflict.
    """
    parser.getgroup(GROUP)._arggroup.conflict_handler = "resolve"


def add_shared(group: pytest.OptionGroup, flag: str, **attrs: Any) -> None:
    """Register one of :data:`SHARED`, unless pytest-recording registered it first."""
    with contextlib.suppress(argparse.ArgumentError):  # it did: its value is read from it
        group.addoption(flag, **attrs)


def loaded(config: pytest.Config) -> bool:
    """Whether pytest-recording takes part in this run (then it owns the shared flags)."""
    return any(getattr(plugin, "__name__", None) == MODULE for plugin in config.pluginmanager.get_plugins())


def records(request: pytest.FixtureRequest) -> bool:
    """Whether pytest-recording lets this test through its ``--block-network``: it records with VCR.py.

    Its own rule: a ``vcr`` marker and a record mode other than ``none`` (``--record-mode``,
    else the markers over the ``vcr_config`` fixture).
    """
    markers = list(request.node.iter_markers("vcr"))
    if not markers:
        return False
    mode = request.config.getoption("--record-mode", None)
    if mode is None:
        merged = dict(request.getfixturevalue("vcr_config"))
        for marker in reversed(markers):  # the closest marker last: it wins
            merged.update(marker.kwargs)
        mode = merged.get("record_mode", "none")
    return bool(mode != "none")


def is_block_fixture(fixturedef: pytest.FixtureDef[Any]) -> bool:
    """Whether ``fixturedef`` is pytest-recording's autouse ``block_network`` fixture."""
    return fixturedef.argname == "block_network" and getattr(fixturedef.func, "__module__", None) == MODULE


@contextlib.contextmanager
def network_flag_off(config: pytest.Config) -> Iterator[None]:
    """pytest-recording's ``--block-network`` reads as off while its fixture decides (it reads it then only)."""
    option = config.option
    # "block_network" is the destination pytest-recording gives its flag.
    saved = getattr(option, "block_network", False)
    option.block_network = False
    try:
        yield
    finally:
        option.block_network = saved
