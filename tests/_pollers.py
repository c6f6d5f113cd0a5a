"""Pollers written the way application code often is: the clock functions bound at import.

The virtual clock must reach these names, which were copied into this module's namespace
before any session started.
"""

from __future__ import annotations

import time
from asyncio import sleep as asyncio_sleep
from collections.abc import Awaitable, Callable
from time import monotonic, sleep
from typing import Any

from anyio import sleep as anyio_sleep

ACTIVE = ("queued", "in_progress")


def wait(client: Any, response_id: str, interval: float, timeout: float) -> Any:
    """Poll a background response until it settles; give up after ``timeout`` seconds."""
    deadline = monotonic() + timeout
    response = client.responses.retrieve(response_id)
    while response.status in ACTIVE:
        if monotonic() > deadline:
            raise TimeoutError(f"{response_id} still {response.status} after {timeout} s")
        sleep(interval)
        response = client.responses.retrieve(response_id)
    return response


Pause = Callable[[float], None]


def wait_pausing_with(client: Any, response_id: str, interval: float, pause: Pause = time.sleep) -> Any:
    """A sleep kept in a default argument, out of the clock's reach; it waits before each poll."""
    while True:
        pause(interval)
        response = client.responses.retrieve(response_id)
        if response.status not in ACTIVE:
            return response


async def await_response(client: Any, response_id: str, interval: float, timeout: float, sleeper: str) -> Any:
    """The async poller: ``from asyncio import sleep`` or ``from anyio import sleep``."""
    nap: Callable[[float], Awaitable[Any]] = asyncio_sleep if sleeper == "asyncio" else anyio_sleep
    deadline = monotonic() + timeout
    response = await client.responses.retrieve(response_id)
    while response.status in ACTIVE:
        if monotonic() > deadline:
            raise TimeoutError(f"{response_id} still {response.status} after {timeout} s")
        await nap(interval)
        response = await client.responses.retrieve(response_id)
    return response
