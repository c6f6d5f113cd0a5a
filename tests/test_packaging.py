"""What an install ships: every module, the plugin under a name of its own, the data files.

The editable install the README uses maps paths; a real (wheel) install copies what
pyproject.toml lists, so a package missing from the list would break only there. The wheel
is built here and its contents compared with the source tree.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from _paths import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _source_files() -> set[str]:
    """Every file a wheel must hold, by its installed name."""
    wanted = {p.relative_to(REPO).as_posix() for p in (REPO / "runreplay").rglob("*.py")}
    wanted |= {"runreplay/py.typed", "runreplay/schema/catalog.json"}
    wanted |= {f"runreplay_pytest/{p.name}" for p in (REPO / "pytest_plugin").glob("*.py")}
    wanted.add("runreplay_pytest/py.typed")
    return wanted


def test_the_package_list_is_the_package_tree() -> None:
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "runreplay").rglob("__init__.py")} | {
        "runreplay_pytest"
    }
    assert set(PYPROJECT["tool"]["setuptools"]["packages"]) == on_disk
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"runreplay_pytest": "pytest_plugin"}
    assert PYPROJECT["project"]["entry-points"]["pytest11"] == {"runreplay": "runreplay_pytest.plugin"}


def test_the_wheel_ships_every_module_and_the_plugin_as_runreplay_pytest(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("runreplay-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _source_files() - names
    assert not missing, sorted(missing)
    assert not any(n.startswith("pytest_plugin/") for n in names), "the plugin must not install as pytest_plugin"
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "runreplay = runreplay_pytest.plugin" in text and "runreplay = runreplay.cli:main" in text


def test_the_python_floor_is_the_one_ci_proves() -> None:
    # .ci/run installs and tests on the machine's python3 (3.11): the floor claimed is that.
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    assert sys.version_info >= (3, 11)
