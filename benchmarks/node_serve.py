"""A recorded polling lifecycle replayed to openai-node through ``runreplay serve``.

The cassette is the polling measurement's (a run created, then polled every second until it
completes: 60 s in full mode). openai-node's ``createAndPoll`` runs in a Node process against
``runreplay serve``, which answers each poll on the cassette's own virtual clock and tells the
client to come back after 5 ms (``openai-poll-after-ms``), where it would otherwise sleep 5 s a
poll. The measured time is the flow inside Node (``elapsed_ms`` of the script), not Node's
start-up.

The floor is the same script against the least server that can answer it: a plain
``http.server`` handing out the recorded replies in order, with the same pacing header.
openai-node and coze-js are installed with ``npm ci`` from tests/node's lock file into the
run's temporary folder (Node and npm must be on the PATH).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks import polling
from benchmarks.files import Files
from benchmarks.harness import FLOOR, MS, SUBJECT, Case, Target, Variant
from runreplay import serve
from runreplay.cassette import Interaction, encode_body

NODE_DIR = Path(__file__).resolve().parent.parent / "tests" / "node"
SCRIPT = "openai_poll_run.mjs"
POLL_AFTER_MS = 5
#: A 60 s recorded lifecycle must replay through openai-node in under a second.
TARGET_SECONDS = 1.0


def cases(files: Files, seconds: float) -> list[Case]:
    create, polls = polling.lifecycle(seconds)
    cset = files.exchanges(f"lifecycle_{seconds:g}s", polls, [create])
    scripts = _install(files.root / "node")
    variants = [
        Variant(FLOOR, FLOOR, _floor(scripts, cset.interactions), note="http.server, recorded replies in order"),
        Variant(SUBJECT, SUBJECT, _served(scripts, cset.runreplay.parent), note="runreplay serve"),
    ]
    label = f"openai-node createAndPoll, {polling.recorded_ms(polls) / 1000:.1f} s recorded, {len(polls)} polls"
    target = Target(SUBJECT, TARGET_SECONDS, versus=None)
    return [Case("serve to openai-node", label, MS, variants, [target], params={"polls": len(polls)})]


def _install(into: Path) -> Path:
    """The flow scripts beside a node_modules installed from tests/node's lock file."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("the serve measurement needs node and npm on the PATH")
    into.mkdir(parents=True)
    for script in (*NODE_DIR.glob("*.mjs"), NODE_DIR / "package.json", NODE_DIR / "package-lock.json"):
        shutil.copy2(script, into / script.name)
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(command, cwd=into, check=True, capture_output=True, timeout=600)
    return into


def _flow(scripts: Path, base_url: str) -> float:
    """Seconds openai-node's createAndPoll took against ``base_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RUNREPLAY_"))}
    env.update(RUNREPLAY_THREAD=polling.THREAD, RUNREPLAY_ASSISTANT=polling.ASSISTANT)
    command = ["node", str(scripts / SCRIPT), "--base-url", base_url, "--api-key", "sk-bench"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)
    if done.returncode != 0:
        raise AssertionError(f"openai-node against {base_url} exited {done.returncode}:\n{done.stderr[-2000:]}")
    output = json.loads(done.stdout)
    if output["result"] != {"status": "completed"}:
        raise AssertionError(f"the replayed run ended {output['result']}, not completed")
    return float(output["elapsed_ms"]) / 1000


def _served(scripts: Path, folder: Path) -> Callable[[], float]:
    def run() -> float:
        with serve(folder, poll_after_ms=POLL_AFTER_MS) as server:
            return _flow(scripts, server.url_for("runreplay") + "/v1")

    return run


def _floor(scripts: Path, replies: list[Interaction]) -> Callable[[], float]:
    def run() -> float:
        with _in_order(replies) as url:
            return _flow(scripts, url)

    return run


@contextmanager
def _in_order(replies: list[Interaction]) -> Iterator[str]:
    """A server on 127.0.0.1 answering request n with recorded reply n (the last one after that)."""
    served = iter(replies)
    last: list[Interaction] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            reply = next(served, None) or last[0]
            last[:] = [reply]
            body = encode_body(reply.response.body)
            self.send_response(reply.response.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.send_header("openai-poll-after-ms", str(POLL_AFTER_MS))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
