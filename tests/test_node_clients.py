"""openai-node and coze-js (pinned in tests/node/package-lock.json) run every flow of tests/node/
against the built-in emulator: a tool call answered by createAndPoll/submitToolOutputsAndPoll and
by streams, a cancel, step pages, and coze-js create-and-poll and stream.

The flows take a server's root URL, so the same calls run against ``runreplay serve``
(``node_clients.run(flow, server.url_for(cassette))``) with the same checks (``_node.check``).
"""

from __future__ import annotations

import pytest
from _node import FLOWS, Flow, NodeClients, check

from runreplay.emulator import Emulator

# The emulator's phases last 20 ms (the `emulator` fixture): poll a bit faster than that.
POLL_MS = 10


@pytest.mark.parametrize("flow", FLOWS, ids=str)
def test_flow_against_emulator(node_clients: NodeClients, emulator: Emulator, flow: Flow) -> None:
    output = node_clients.run(flow, emulator.base_url, poll_ms=POLL_MS)
    assert output["flow"] == flow.name
    check(flow, output["result"])

    # Another server, where the same flow ran once before so that every raw id differs: the
    # result is equal (ids are labels, nothing depends on timing), so a recorded run and its
    # replay can be compared with ==.
    with Emulator(port=0, phase_seconds=0.03) as other:
        node_clients.run(flow, other.base_url, poll_ms=POLL_MS)
        again = node_clients.run(flow, other.base_url, poll_ms=POLL_MS)
    assert again["result"] == output["result"]


def test_openai_node_paces_by_the_server_header(node_clients: NodeClients) -> None:
    """Without pollIntervalMs, openai-node sleeps what openai-poll-after-ms says (5 s a poll when
    absent): the way a replay server keeps an unconfigured client fast."""
    with Emulator(port=0, phase_seconds=0.02, poll_after_ms=10) as emu:
        output = node_clients.run("openai_create_and_poll", emu.base_url)
    check("openai_create_and_poll", output["result"])
    assert output["elapsed_ms"] < 4000


def test_a_failing_flow_reports_its_error(node_clients: NodeClients) -> None:
    with Emulator(port=0) as emu:
        root = emu.base_url
    # The emulator has stopped: nothing listens there any more.
    with pytest.raises(AssertionError, match=r"openai_cancel against .* exited 1"):
        node_clients.run("openai_cancel", root, poll_ms=POLL_MS, timeout=30)
