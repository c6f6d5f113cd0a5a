"""The Node clients (openai-node, coze-js) the tests drive, and the flow scripts in tests/node/.

``NodeClients.install(tmp_path_factory)`` runs ``npm ci`` on tests/node's lock file once per
session, into a folder beside pytest's temporary folders keyed by the lock file's hash (xdist
workers share it: the first one installs, the others wait on a file lock). Nothing touches
the network at import time. ``clients.run(flow, root_url)`` runs one flow script against a
server and returns its parsed result.

A flow takes a server's *root* URL: the emulator's ``base_url``, or one cassette's URL of
``runreplay serve``; ``Flow.base_url`` adds the API's own prefix (``/v1`` for OpenAI).
Missing ``node`` or ``npm`` is a test failure, not a skip: CI has both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runreplay.providers import provider_named

NODE_DIR = Path(__file__).parent / "node"
LOCK_FILE = NODE_DIR / "package-lock.json"
MIN_NODE_MAJOR = 18  # openai-node 4 and util.parseArgs need it
INSTALL_TIMEOUT = 600.0


@dataclasses.dataclass(frozen=True)
class Flow:
    """One script in tests/node/: its name (the file without ``.mjs``) and the API family it calls."""

    name: str
    family: str  # a provider name: "openai" or "coze"

    def base_url(self, root: str) -> str:
        """The base URL the script's SDK gets, given a server's root URL (emulator or serve)."""
        return root.rstrip("/") + provider_named(self.family).emulator_mount

    def __str__(self) -> str:  # readable pytest ids
        return self.name


FLOWS = (
    Flow("openai_create_and_poll", "openai"),
    Flow("openai_stream", "openai"),
    Flow("openai_cancel", "openai"),
    Flow("openai_steps_pages", "openai"),
    Flow("coze_create_and_poll", "coze"),
    Flow("coze_stream", "coze"),
)
FLOWS_BY_NAME = {flow.name: flow for flow in FLOWS}


class NodeFlowError(AssertionError):
    """A flow script failed or printed something other than its JSON line."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not on PATH: the Node client tests (tests/node/) need Node {MIN_NODE_MAJOR}+ and npm "
            "installed; CI has them",
            pytrace=False,
        )
    return found


def _check_node_version(node: str) -> None:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    major = int(version.strip().lstrip("v").split(".")[0])
    if major < MIN_NODE_MAJOR:
        pytest.fail(f"{node} is Node {version.strip()}; tests/node/ needs Node {MIN_NODE_MAJOR}+", pytrace=False)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (xdist workers installing the same packages wait in turn)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: workers may both install; the rename settles it
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _npm_ci(npm: str, into: Path) -> None:
    """``npm ci`` of tests/node's lock file into ``into`` (a fresh folder), no install scripts."""
    into.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(NODE_DIR / name, into / name)
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(command, cwd=into, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`npm ci` in {into} took over {INSTALL_TIMEOUT:.0f} s (is the npm registry reachable?)")
    if done.returncode != 0:
        pytest.fail(
            f"`npm ci` for {LOCK_FILE} failed (exit {done.returncode}) in {into}:\n{done.stderr[-4000:]}",
            pytrace=False,
        )


def install(npm: str, cache: Path) -> Path:
    """The node_modules folder of tests/node's lock file under ``cache``, installed if missing."""
    digest = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()[:16]
    target = cache / f"node-clients-{digest}"
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache / f"node-clients-{digest}.lock"):
        if not (target / "node_modules").is_dir():
            # Install beside the target and rename: a half-done install never looks finished.
            partial = cache / f"node-clients-{digest}.partial-{os.getpid()}"
            shutil.rmtree(partial, ignore_errors=True)
            _npm_ci(npm, partial)
            try:
                partial.rename(target)
            except OSError:  # another process finished first (no lock on this platform)
                shutil.rmtree(partial, ignore_errors=True)
    return target / "node_modules"


@dataclasses.dataclass(frozen=True)
class NodeClients:
    """Installed Node SDKs and a folder holding the flow scripts beside them."""

    node: str
    scripts: Path

    @classmethod
    def install(cls, tmp_path_factory: pytest.TempPathFactory) -> NodeClients:
        """Install once per session (xdist workers share the install) and stage the scripts."""
        node, npm = _tool("node"), _tool("npm")
        _check_node_version(node)
        base = tmp_path_factory.getbasetemp()
        # Under xdist each worker's basetemp is popen-gwN inside the run's shared folder.
        shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        modules = install(npm, shared / "node-cache")
        # Node resolves packages from the script's folder upwards: a node_modules link beside
        # copies of the scripts finds the shared install without writing into the checkout.
        scripts = tmp_path_factory.mktemp("node-flows")
        for script in NODE_DIR.glob("*.mjs"):
            shutil.copy2(script, scripts / script.name)
        shutil.copy2(NODE_DIR / "package.json", scripts / "package.json")
        (scripts / "node_modules").symlink_to(modules, target_is_directory=True)
        return cls(node=node, scripts=scripts)

    def run(
        self,
        flow: Flow | str,
        root_url: str,
        *,
        poll_ms: int | None = None,
        api_key: str = "sk-runreplay",
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Run ``flow`` against the server at ``root_url``; its output: ``{"flow", "result", "elapsed_ms"}``.

        ``poll_ms`` sets the SDK's poll interval (openai-node's ``pollIntervalMs``); leave it
        None to let the server pace the polls (``openai-poll-after-ms``). ``result`` is what two
        runs of a flow (recorded, replayed) must agree on.
        """
        flow = FLOWS_BY_NAME[flow] if isinstance(flow, str) else flow
        command = [self.node, str(self.scripts / f"{flow.name}.mjs"), "--base-url", flow.base_url(root_url)]
        command += ["--api-key", api_key]
        if poll_ms is not None:
            command += ["--poll-ms", str(poll_ms)]
        # A clean environment for the SDKs: no OPENAI_*/COZE_* of the developer's leaks in.
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "COZE_", "RUNREPLAY_"))}
        child_env.update(env or {})
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=child_env)
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
            raise NodeFlowError(f"{flow} against {root_url} ran over {timeout:.0f} s; stderr:\n{stderr}") from None
        if done.returncode != 0:
            raise NodeFlowError(f"{flow} against {root_url} exited {done.returncode}:\n{done.stderr[-4000:]}")
        try:
            output: dict[str, Any] = json.loads(done.stdout)
        except ValueError:
            raise NodeFlowError(f"{flow} printed no JSON line:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}") from None
        return output


# --- what each flow's result must show, whichever server answered --------------------------

TOOL_OUTPUT = "sunny, 21 C (get_weather)"  # what every flow script answers a get_weather call with


def _one_weather_call(result: dict[str, Any], argument: str) -> None:
    [call] = result["tool_calls"]
    assert call["name"] == "get_weather"
    assert call["arguments"] == {argument: "Paris"}


def _openai_create_and_poll(result: dict[str, Any]) -> None:
    assert result["statuses"] == ["requires_action", "completed"]
    assert result["same_run"]
    _one_weather_call(result, "city")
    # The tool output reached the server: the answer names it.
    assert [m["role"] for m in result["messages"]] == ["user", "assistant"]
    assert TOOL_OUTPUT in result["messages"][-1]["text"]


def _openai_stream(result: dict[str, Any]) -> None:
    assert result["statuses"] == ["requires_action", "completed"]
    assert result["runs"] == ["run#1", "run#1"]
    _one_weather_call(result, "city")
    first, second = result["events"]
    assert first[0] == "thread.run.created" and first[-1] == "thread.run.requires_action"
    assert "thread.message.delta" in second and second[-1] == "thread.run.completed"
    assert TOOL_OUTPUT in result["answer"]


def _openai_cancel(result: dict[str, Any]) -> None:
    assert result["statuses"] == ["requires_action", "cancelling", "cancelled"]
    assert result["cancelled_at_set"]


def _openai_steps_pages(result: dict[str, Any]) -> None:
    assert result["status"] == "completed"
    # limit=1: one step a page, oldest first, and the page after the last is not asked for.
    assert [[s["type"] for s in page] for page in result["pages"]] == [["tool_calls"], ["message_creation"]]
    assert result["auto_paginated"] == [step for page in result["pages"] for step in page]
    assert {s["status"] for s in result["auto_paginated"]} == {"completed"}


def _coze_create_and_poll(result: dict[str, Any]) -> None:
    assert result["statuses"][0] == "requires_action" and result["statuses"][-1] == "completed"
    _one_weather_call(result, "location")
    assert [m["type"] for m in result["messages_at_tool_call"]] == ["function_call"]
    by_type = {m["type"]: m["content"] for m in result["messages"]}
    assert by_type["tool_response"] == TOOL_OUTPUT
    assert TOOL_OUTPUT in by_type["answer"]


def _coze_stream(result: dict[str, Any]) -> None:
    assert result["statuses"] == ["requires_action", "completed"]
    _one_weather_call(result, "location")
    first, second = result["events"]
    assert first[0] == "conversation.chat.created" and first[-2:] == ["conversation.chat.requires_action", "done"]
    assert "conversation.message.delta" in second and second[-2:] == ["conversation.chat.completed", "done"]
    assert TOOL_OUTPUT in result["answer"]


_CHECKS = {
    "openai_create_and_poll": _openai_create_and_poll,
    "openai_stream": _openai_stream,
    "openai_cancel": _openai_cancel,
    "openai_steps_pages": _openai_steps_pages,
    "coze_create_and_poll": _coze_create_and_poll,
    "coze_stream": _coze_stream,
}


def check(flow: Flow | str, result: dict[str, Any]) -> None:
    """Assert that ``result`` (a flow's ``"result"``) shows the flow done as it should be."""
    _CHECKS[str(flow)](result)
