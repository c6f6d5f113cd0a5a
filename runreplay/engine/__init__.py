"""The engine: sessions that record and replay, and everything they are made of.

``session`` composes ``replayer`` (``matching``, ``timeline``), ``clock``, ``scrub``,
``saving``, ``report`` and ``interception`` (which asks the session through ``port``).
It names no API family: what it knows of one comes from :mod:`runreplay.providers`.
"""
