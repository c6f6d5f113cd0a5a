"""Drift: how recorded traffic differs from the documented types, with a severity each.

Every finding of :func:`runreplay.checks.validation.check_cassette` gets a severity from its
category, configurable in ``pyproject.toml``::

    [tool.runreplay.drift]
    unknown_field = "warning"      # additive: the vendor sent a field we do not know
    missing_required = "error"
    type_change = "error"
    new_enum_value = "error"       # e.g. a new run status
    unknown_endpoint = "warning"   # no documented type describes the endpoint
    unknown_event = "error"        # a stream event name that is not documented
    ignore_paths = ["$..trace_id"] # findings at (or inside) these places in a body are dropped

Severities: ``error`` (fails: exit code 1), ``warning``, ``notice``, ``ignore`` (dropped).
Reports render as text, JSON or GitHub Actions workflow commands. A finding repeated across
interactions (the same change in every poll of a run) is one :class:`FindingGroup`: one
line or annotation with its count, its first place and the interactions it was seen in.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runreplay._github import annotation
from runreplay._jsonpath import JsonPath, parse_all, split, within_body
from runreplay.cassette import Cassette
from runreplay.checks.validation import CATEGORIES, UNKNOWN_ENDPOINT, UNKNOWN_EVENT, Violation, check_cassette
from runreplay.config import check_keys, find_pyproject, read_toml, tool_table
from runreplay.errors import ConfigError
from runreplay.schema.walker import MISSING_REQUIRED, NEW_ENUM_VALUE, TYPE_CHANGE, UNKNOWN_FIELD

SEVERITIES = ("error", "warning", "notice", "ignore")

DEFAULT_SEVERITIES: Mapping[str, str] = {
    UNKNOWN_FIELD: "warning",
    MISSING_REQUIRED: "error",
    TYPE_CHANGE: "error",
    NEW_ENUM_VALUE: "error",
    UNKNOWN_ENDPOINT: "warning",
    UNKNOWN_EVENT: "error",
}

EXIT_CLEAN, EXIT_DRIFT = 0, 1

# --------------------------------------------------------------------------- configuration


#: The key of ``[tool.runreplay.drift]`` that is not a category.
IGNORE_PATHS = "ignore_paths"


@dataclass(frozen=True)
class DriftConfig:
    severities: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    #: The file the settings came from (None: defaults).
    source: Path | None = None
    #: JSON paths into a body or an event's data (``$..trace_id``): findings there, or inside
    #: what they name, are dropped, whatever their category.
    ignore_paths: tuple[str, ...] = ()
    compiled_paths: tuple[JsonPath, ...] = field(default=(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled_paths", parse_all(self.ignore_paths, IGNORE_PATHS))

    def severity(self, category: str) -> str:
        """The category's severity: as given, else its default (a partial mapping changes only what it names)."""
        return self.severities.get(category) or DEFAULT_SEVERITIES.get(category, "error")

    def ignores(self, violation: Violation) -> bool:
        """Whether the finding lies at or inside an ignored path."""
        if not self.compiled_paths:
            return False
        try:
            inside = within_body(split(violation.path))
        except ValueError:  # not a place in a body (a URL, an event name)
            return False
        return inside is not None and any(p.matches(inside, or_inside=True) for p in self.compiled_paths)


def load_config(path: str | os.PathLike[str] | None = None) -> DriftConfig:
    """Severities from ``[tool.runreplay.drift]`` of ``path`` (or the nearest pyproject.toml).

    Raises :class:`ConfigError` naming the file and the key for anything it cannot use.
    """
    source = Path(path) if path is not None else find_pyproject()
    if source is None:
        return DriftConfig()
    drift = dict(tool_table(read_toml(source), "drift", source) or {})
    where = f"{source}: [tool.runreplay.drift]"
    check_keys(drift, [*DEFAULT_SEVERITIES, IGNORE_PATHS], where)
    paths = drift.pop(IGNORE_PATHS, [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ConfigError(f"{where}: {IGNORE_PATHS!r} must be a list of JSON path strings, found {paths!r}")
    parse_all(paths, f"{where}: {IGNORE_PATHS}")  # refused here, naming the file and the key
    return DriftConfig({**DEFAULT_SEVERITIES, **_severities(drift, source)}, source, tuple(paths))


def _severities(table: Mapping[str, Any], source: Path) -> dict[str, str]:
    for key, value in table.items():
        if value not in SEVERITIES:
            raise ConfigError(
                f"{source}: [tool.runreplay.drift] {key} = {value!r}: must be one of {', '.join(SEVERITIES)}"
            )
    return dict(table)


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Finding:
    violation: Violation
    severity: str

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity, **self.violation.to_json()}


#: Array indices in a path: a finding at ``interactions[3]`` and at ``interactions[7]`` is one.
_INDEX = re.compile(r"\[\d+\]")
#: Interactions a group lists by number in text before it only counts the rest.
_LISTED = 8


@dataclass(frozen=True)
class FindingGroup:
    """One finding seen in several places: the first of them, how often, and where."""

    first: Finding
    count: int
    #: The interactions it was seen in, in order (each once).
    interactions: tuple[int, ...]
    #: The distinct values found, the first place's first.
    found: tuple[str, ...]

    @property
    def severity(self) -> str:
        return self.first.severity

    def to_json(self) -> dict[str, Any]:
        return {**self.first.to_json(), "count": self.count, "interactions": list(self.interactions),
                "found_values": list(self.found)}  # fmt: skip

    def describe(self, *, label: bool = True) -> str:
        """``place: label: expected ..., found ...`` and, when repeated, how often and where."""
        v = self.first.violation
        others = f" (and {len(self.found) - 1} other value(s))" if len(self.found) > 1 else ""
        kind = f"{v.label}: " if label else ""
        return f"{_place(v)}: {kind}expected {v.expected}, found {v.found}{others}{self._repeats()}"

    def _repeats(self) -> str:
        if self.count == 1:
            return ""
        numbers = ", ".join(f"#{n}" for n in self.interactions[:_LISTED])
        if len(self.interactions) > _LISTED:
            numbers += f" and {len(self.interactions) - _LISTED} more"
        where = f"interaction(s) {numbers}" if self.interactions else "the cassette"
        if self.count == len(self.interactions):
            return f" [{self.count} times, in {where}]"
        return f" [{self.count} times, in {len(self.interactions)} {where}]"


def group_findings(findings: Iterable[Finding]) -> list[FindingGroup]:
    """Merge findings that differ only in the interaction (or array item) they were seen in."""
    groups: dict[tuple[Any, ...], list[Finding]] = {}
    for finding in findings:
        v = finding.violation
        key = (v.cassette, finding.severity, v.category, v.endpoint, _INDEX.sub("[]", v.path), v.expected)
        groups.setdefault(key, []).append(finding)
    out = []
    for members in groups.values():
        numbers = dict.fromkeys(m.violation.interaction for m in members if m.violation.interaction is not None)
        found = dict.fromkeys(m.violation.found for m in members)
        out.append(FindingGroup(members[0], len(members), tuple(numbers), tuple(found)))
    return out


@dataclass
class DriftReport:
    #: Every finding, one per place (``groups`` merges the repeated ones).
    findings: list[Finding]
    #: Every cassette looked at, findings or not.
    cassettes: list[str]

    @property
    def groups(self) -> list[FindingGroup]:
        return group_findings(self.findings)

    @property
    def counts(self) -> Counter[str]:
        return Counter(f.severity for f in self.findings)

    @property
    def exit_code(self) -> int:
        return EXIT_DRIFT if self.counts["error"] else EXIT_CLEAN

    def summary(self) -> str:
        """Distinct findings per severity; occurrences too when some repeat."""
        groups = self.groups
        counts = Counter(g.severity for g in groups)
        parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in SEVERITIES[:3]]
        repeated = f" ({len(self.findings)} occurrences)" if len(groups) != len(self.findings) else ""
        return f"{', '.join(parts)}{repeated} in {len(self.cassettes)} cassette(s)"

    def to_text(self) -> str:
        lines: list[str] = []
        current: str | None = None
        for group in self.groups:
            cassette = group.first.violation.cassette
            if cassette != current:
                current = cassette
                lines.append(current or "<cassette>")
            lines.append(f"  {group.severity}: {group.describe()}")
        lines.append(f"drift: {self.summary()}")
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        """Every occurrence under ``findings`` and ``summary`` (as before groups), plus ``groups``."""
        document = {
            "findings": [f.to_json() for f in self.findings],
            "groups": [g.to_json() for g in self.groups],
            "cassettes": self.cassettes,
            "summary": {s: self.counts[s] for s in SEVERITIES[:3]},
            "exit_code": self.exit_code,
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def to_github(self) -> str:
        """GitHub Actions workflow commands: one annotation per distinct finding, on the cassette file."""
        lines = [
            annotation(
                g.severity,
                g.first.violation.cassette or "",
                f"runreplay drift: {g.first.violation.label}",
                g.describe(label=False),  # the title names it
            )
            for g in self.groups
        ]
        lines.append(f"drift: {self.summary()}")
        return "\n".join(lines) + "\n"

    def render(self, fmt: str) -> str:
        return {"text": self.to_text, "json": self.to_json, "github": self.to_github}[fmt]()


def _place(v: Violation) -> str:
    head = f"#{v.interaction} " if v.interaction is not None else ""
    return f"{head}{v.endpoint + ' ' if v.endpoint else ''}{v.path}"


def drift(
    cassettes: Iterable[Cassette], config: DriftConfig | None = None, *, api_version: str | None = None
) -> DriftReport:
    """Classify every difference between the cassettes' traffic and the documented types.

    ``api_version`` checks every request as that version (``"v2"``: would these v1
    recordings still hold under v2?).
    """
    config = config or DriftConfig()
    findings: list[Finding] = []
    names: list[str] = []
    for cassette in cassettes:
        names.append(str(cassette.path) if cassette.path is not None else "<cassette>")
        for violation in check_cassette(cassette, api_version=api_version):
            severity = config.severity(violation.category)
            if severity != "ignore" and not config.ignores(violation):
                findings.append(Finding(violation, severity))
    return DriftReport(findings, names)


__all__ = [
    "CATEGORIES",
    "DEFAULT_SEVERITIES",
    "SEVERITIES",
    "DriftConfig",
    "DriftReport",
    "Finding",
    "FindingGroup",
    "drift",
    "group_findings",
    "load_config",
]
