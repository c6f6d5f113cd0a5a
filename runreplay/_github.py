"""GitHub Actions workflow commands (annotations on files in a pull request)."""

from __future__ import annotations


def annotation(level: str, file: str, title: str, message: str) -> str:
    """``::warning file=x,title=y::message``, escaped as the runner requires."""
    return f"::{level} file={_property(file)},title={_property(title)}::{_data(message)}"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
