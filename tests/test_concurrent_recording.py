"""Recordings are never lost: processes recording into one cassette at once each keep theirs.

Saving loads the cassette, merges and writes it under one lock on its folder, so two writers
merge instead of overwriting each other (xdist workers sharing a cassette are in test_plugin).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servers import Handler, serve

from runreplay import load

WRITER = textwrap.dedent(
    """
    import sys, httpx
    from runreplay import use_cassette

    url, path, name, count, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    with use_cassette(path, record_mode=mode, validate="off"), httpx.Client() as client:
        for n in range(count):
            client.post(url + "/v1/things", json={"writer": name, "n": n}).raise_for_status()
    """
)


class _Echo(Handler):
    def do_POST(self) -> None:
        self.reply("application/json", self.rfile.read(int(self.headers.get("content-length") or 0)))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(_Echo) as url:
        yield url


@pytest.mark.parametrize("mode", ["all", "new_episodes"])
def test_two_processes_recording_into_one_cassette_keep_every_interaction(
    server: str, tmp_path: Path, mode: str
) -> None:
    path = tmp_path / "shared.json"
    count = 150
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, server, str(path), name, str(count), mode])
        for name in ("a", "b")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    seen = sorted((i.request.body.json_value["writer"], i.request.body.json_value["n"]) for i in load(path))
    assert seen == sorted((name, n) for name in ("a", "b") for n in range(count))
    assert json.loads(path.read_text())["format"] == 1
    assert not list(tmp_path.glob("*.runreplay-tmp"))
