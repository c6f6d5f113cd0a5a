"""Subprocess worker: how much one load raises the process's peak resident set.

``python -m benchmarks.rss_worker LOADER PATH`` prints ``{"peak_delta_bytes": ...}``. Every
module any loader needs is imported before the first reading, so imports are not counted.

On Linux the peak (VmHWM) is reset to the current resident set just before the load
(``/proc/self/clear_refs``), so the result is "peak during the load minus resident before
it", exact even when importing had pushed the peak higher than a small load would. Where
that is not possible it falls back to the growth of ``getrusage().ru_maxrss``.
"""

from __future__ import annotations

import gc
import json
import re
import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")


def _status_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    if match is None:
        raise OSError(f"no {field} in {_STATUS}")
    return int(match.group(1))


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        _status_kib("VmHWM")
        return True
    except OSError:
        return False


def _ru_maxrss_bytes() -> int:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def main(argv: list[str]) -> int:
    from benchmarks.loading import LOADERS, loader

    name, path = argv[0], Path(argv[1])
    for other in LOADERS:
        loader(other)  # imports every loader's modules
    load = loader(name)
    gc.collect()
    if _reset_peak():
        method = "VmHWM after reset - VmRSS before"
        before = _status_kib("VmRSS") * 1024
        result = load(path)
        after = _status_kib("VmHWM") * 1024
    else:
        method = "ru_maxrss growth"
        before = _ru_maxrss_bytes()
        result = load(path)
        after = _ru_maxrss_bytes()
    del result
    print(json.dumps({"loader": name, "method": method, "before_bytes": before, "peak_delta_bytes": after - before}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
