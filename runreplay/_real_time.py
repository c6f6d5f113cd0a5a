"""The clocks and sleeps as Python started with them, before any virtual clock replaced them.

A replay's virtual clock patches ``time.sleep``, ``time.monotonic`` and ``asyncio.sleep``
process-wide. What must keep real time while one is active (the clock itself, the emulator's
and the replay server's threads) takes them from here: this module is imported by the clock
module, so it is loaded before any clock can be active, whoever imports it later.
"""

from __future__ import annotations

import asyncio
import time

sleep = time.sleep
monotonic = time.monotonic
monotonic_ns = time.monotonic_ns
process_time = time.process_time
async_sleep = asyncio.sleep
