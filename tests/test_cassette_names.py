"""Cassette names from the marker stay inside the cassette folder, safe and short."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from runreplay import ConfigError
from runreplay.emulator import Emulator
from runreplay_pytest.plugin import MAX_NAME_BYTES, cassette_path

pytest_plugins = ["pytester"]


def _item(tmp_path: Path, name: str = "test_it", *, absolute_names: bool = False) -> Any:
    """Just enough of a pytest item for cassette_path."""
    ini = {"runreplay_cassette_dir": "", "runreplay_absolute_cassette_names": absolute_names}
    config = SimpleNamespace(getoption=lambda key, default=None: None, getini=ini.__getitem__, rootpath=tmp_path)
    path = tmp_path / "tests" / "test_mod.py"
    return SimpleNamespace(config=config, path=path, name=name, nodeid=f"tests/test_mod.py::{name}", cls=None)


def _folder(tmp_path: Path) -> Path:
    return tmp_path / "tests" / "cassettes" / "test_mod"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plain", "plain.json"),
        ("plain.json", "plain.json"),
        ("v1.2", "v1.2.json"),
        ("sub/name", "sub/name.json"),
        ("sub\\name", "sub/name.json"),
        ("we ird?name*<>|:", "we_ird_name_____.json"),
        ("naïve café", "na_ve_caf_.json"),
        ("[1-2]=a,b+c@d", "[1-2]=a,b+c@d.json"),
        ("...", "....json"),
    ],
)
def test_names_stay_in_the_folder_made_safe(tmp_path: Path, name: str, expected: str) -> None:
    assert cassette_path(_item(tmp_path), name) == _folder(tmp_path) / expected


def test_a_path_object_is_a_name(tmp_path: Path) -> None:
    assert cassette_path(_item(tmp_path), Path("sub") / "x") == _folder(tmp_path) / "sub" / "x.json"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("../../x", "'..' part"),
        ("..", "'..' part"),
        ("a/../../b", "'..' part"),
        ("..\\x", "'..' part"),
        (".", "'.' part"),
        ("./x", "'.' part"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("a//b", "'empty' part"),
        ("dir/", "'empty' part"),
        ("/etc/x", "is an absolute path"),
        ("\\\\server\\share\\x", "is an absolute path"),
        ("C:\\x", "is an absolute path"),
        ("C:x", "is an absolute path"),
        ("~/x", "'~' is not expanded"),
        ("~", "'~' is not expanded"),
    ],
)
def test_names_that_would_leave_the_folder_are_refused(tmp_path: Path, name: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        cassette_path(_item(tmp_path), name)
    message = str(caught.value)
    assert says in message
    assert "tests/test_mod.py::test_it" in message and repr(name) in message
    assert not any(tmp_path.rglob("*.json"))


def test_a_name_must_be_a_string(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cassette name 5 must be a string"):
        cassette_path(_item(tmp_path), 5)


def test_absolute_names_and_home_when_the_ini_allows_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    item = _item(tmp_path, absolute_names=True)
    assert cassette_path(item, str(tmp_path / "elsewhere" / "x")) == tmp_path / "elsewhere" / "x.json"
    assert cassette_path(item, "~/rec/x.json") == tmp_path / "home" / "rec" / "x.json"
    assert "~" not in str(cassette_path(item, "~/x"))
    with pytest.raises(ConfigError, match=r"'\.\.' part"):  # relative names still stay inside
        cassette_path(item, "../x")


def test_long_names_are_cut_with_a_stable_hash(tmp_path: Path) -> None:
    item = _item(tmp_path)
    long = "a" * 300
    path = cassette_path(item, long)
    assert path.parent == _folder(tmp_path)
    assert len(path.name.encode()) <= MAX_NAME_BYTES < 120 and path.name.endswith(".json")
    assert path.name.startswith("a" * 50)
    assert cassette_path(item, long) == path, "stable"
    assert cassette_path(item, "a" * 299 + "b") != path, "names that share a prefix stay apart"
    assert cassette_path(item, "a" * 299 + "?") != cassette_path(item, "a" * 299 + "*"), "hashed before made safe"
    folders = cassette_path(item, "d" * 200 + "/" + "x" * 200)
    assert all(len(part.encode()) <= MAX_NAME_BYTES for part in folders.relative_to(_folder(tmp_path)).parts)
    short = "b" * (MAX_NAME_BYTES - len(".json"))
    assert cassette_path(item, short).name == short + ".json", "a name that fits is kept whole"
    unicode_long = cassette_path(item, "é" * 200)
    assert len(unicode_long.name.encode()) <= MAX_NAME_BYTES


def test_long_parametrized_test_names_are_cut_too(tmp_path: Path) -> None:
    name = "test_it[" + "-".join(f"param{i}" for i in range(60)) + "]"
    path = cassette_path(_item(tmp_path, name), None)
    assert len(path.name.encode()) <= MAX_NAME_BYTES and path.name.startswith("test_it[param0-param1-")
    assert cassette_path(_item(tmp_path, "test_it[1-2]"), None).name == "test_it[1-2].json"
    assert cassette_path(_item(tmp_path, "test_it[a/b]"), None).name == "test_it[a_b].json"


NAMES_FILE = textwrap.dedent(
    """
    import os

    import httpx
    import pytest

    URL = os.environ.get("RR_URL", "http://127.0.0.1:9") + "/v1"


    @pytest.mark.runreplay("../../escaped")
    def test_escape():
        pass


    @pytest.mark.runreplay("n" * 300)
    def test_long_name():
        assert httpx.post(URL + "/assistants", json={"model": "gpt-4o-mini"}).json()["model"] == "gpt-4o-mini"


    @pytest.mark.parametrize("text", ["x" * 150, "y" * 150])
    @pytest.mark.runreplay
    def test_long_id(text):
        assert httpx.post(URL + "/threads", json={"metadata": {"k": text[:10]}}).json()["metadata"] == {"k": text[:10]}
    """
)


def test_through_pytest_a_long_name_records_and_replays_and_an_escape_is_refused(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_names=NAMES_FILE)
    with Emulator(port=0) as emulator:
        monkeypatch.setenv("RR_URL", emulator.base_url)
        recorded = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--record-mode=once")
    recorded.assert_outcomes(passed=3, errors=1)
    recorded.stdout.fnmatch_lines(["*test_names.py::test_escape: cassette name '../../escaped' has a '..' part*"])
    files = sorted(p.name for p in (pytester.path / "cassettes" / "test_names").iterdir())
    assert len(files) == 3 and all(len(name.encode()) <= MAX_NAME_BYTES for name in files)
    assert not any(p.name.startswith("escaped") for p in pytester.path.parent.rglob("escaped*"))
    monkeypatch.setenv("RR_URL", "http://127.0.0.1:9")
    replayed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "long")
    replayed.assert_outcomes(passed=3)
    assert os.path.isdir(pytester.path / "cassettes" / "test_names")
