"""Running the sweeper: a loop of passes, standalone or as a background task of the server.

```python
async with background_sweeper(gateway, SweeperOptions.from_settings(settings)):
    ...  # the server runs; a pass every ``interval`` seconds
```

A pass that fails is logged (``sweeper.pass_failed``) and the loop goes on. Stopping waits
for the pass in progress to reach the end of its transaction, at most ``stop_timeout``
seconds; whatever it had not committed is rolled back and done by the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from oversight.gateway.service import Gateway
from oversight.logs import get_logger
from oversight.sweeper.service import Sweeper

log = get_logger("sweeper")


@dataclass(frozen=True)
class SweeperOptions:
    """How often and how much: ``OVERSIGHT_SWEEPER_*`` settings, or these defaults."""

    enabled: bool = True
    interval: float = 5.0  # seconds between passes
    batch: int = 500  # requests per transaction; threads per drift-scan page
    scan_every: float = 30.0  # seconds between drift-scan pages
    settle: float = 60.0  # seconds a thread must have been quiet before it counts as drift

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> SweeperOptions:
        """Options from settings (fields ``sweeper_enabled``, ``sweeper_interval_seconds``,
        ``sweeper_batch_size``, ``sweeper_scan_every_seconds``, ``sweeper_settle_seconds``
        where present), then ``overrides`` that are not None."""
        values: dict[str, Any] = {
            "enabled": getattr(settings, "sweeper_enabled", cls.enabled),
            "interval": getattr(settings, "sweeper_interval_seconds", cls.interval),
            "batch": getattr(settings, "sweeper_batch_size", cls.batch),
            "scan_every": getattr(settings, "sweeper_scan_every_seconds", cls.scan_every),
            "settle": getattr(settings, "sweeper_settle_seconds", cls.settle),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def sweeper(self, gateway: Gateway) -> Sweeper:
        """A sweeper over ``gateway`` with these options."""
        return Sweeper(gateway, batch=self.batch, scan_every=self.scan_every,
                       settle=dt.timedelta(seconds=self.settle))


async def run_forever(sweeper: Sweeper, *, interval: float, stop: asyncio.Event) -> int:
    """Run passes every ``interval`` seconds until ``stop`` is set; returns how many ran."""
    passes = 0
    while not stop.is_set():
        try:
            await sweeper.run_pass()
        except Exception as exc:  # never let one bad pass end the loop
            log.error("sweeper.pass_failed", error=f"{type(exc).__name__}: {exc}", exc_info=True)
        passes += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
    return passes


@contextlib.asynccontextmanager
async def background_sweeper(gateway: Gateway, options: SweeperOptions | None = None, *,
                             stop_timeout: float = 10.0) -> AsyncIterator[Sweeper | None]:
    """Run the sweeper as a background task for the life of the block (None when disabled)."""
    options = options or SweeperOptions()
    if not options.enabled:
        log.info("sweeper.disabled")
        yield None
        return
    sweeper = options.sweeper(gateway)
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(sweeper, interval=options.interval, stop=stop),
                               name="oversight-sweeper")
    log.info("sweeper.started", interval=options.interval, batch=options.batch)
    try:
        yield sweeper
    finally:
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=stop_timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        log.info("sweeper.stopped")
