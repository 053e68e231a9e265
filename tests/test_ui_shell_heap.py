"""The desk's heap hook: wait for the connectors' first sync, freeze the start-up heap, collect when idle."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from atlas_desk.app import IdleCollector, settle_heap, wait_first_sync
from atlas_desk.core.types import ConnectionState


@pytest.fixture
def restore_gc() -> Iterator[None]:
    """settle_heap changes process-wide collector state: put it back after the test."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class PollingConnector:
    """Like GitHub's and Reddit's connectors: reports LIVE once its first full fetch is done."""

    def __init__(self) -> None:
        self.state = ConnectionState.CONNECTING


class CatchingUpConnector:
    """Like Discord's: LIVE at READY, caught up only after its backfill."""

    def __init__(self) -> None:
        self.state = ConnectionState.LIVE
        self.caught_up = asyncio.Event()
        self.fail = False

    async def wait_caught_up(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.caught_up.wait(), timeout)
        if self.fail:
            raise ConnectionError("the gateway refused the token")


def test_wait_first_sync_waits_for_every_connector(aloop: asyncio.AbstractEventLoop) -> None:
    polling, discordish = PollingConnector(), CatchingUpConnector()

    async def scenario() -> list[str]:
        steps: list[str] = []
        waiter = asyncio.ensure_future(wait_first_sync([polling, discordish], timeout=10))
        await asyncio.sleep(0.05)
        steps.append("waiting" if not waiter.done() else "returned early")
        polling.state = ConnectionState.LIVE  # Discord is LIVE too, but not caught up: keep waiting
        await asyncio.sleep(0.4)
        steps.append("waiting" if not waiter.done() else "returned early")
        discordish.caught_up.set()
        steps.append(f"synced={await asyncio.wait_for(waiter, 5)}")
        return steps

    assert aloop.run_until_complete(scenario()) == ["waiting", "waiting", "synced=True"]


def test_wait_first_sync_gives_up_after_timeout_and_on_failure(aloop: asyncio.AbstractEventLoop) -> None:
    failed = CatchingUpConnector()
    failed.fail = True
    failed.caught_up.set()
    # A connector that stopped without catching up counts as done; one that never goes live hits the timeout.
    assert aloop.run_until_complete(wait_first_sync([failed], timeout=5)) is True
    assert aloop.run_until_complete(wait_first_sync([PollingConnector()], timeout=0.1)) is False
    assert aloop.run_until_complete(wait_first_sync([], timeout=0.1)) is True
    assert not [t for t in asyncio.all_tasks(aloop) if not t.done()]  # no poller left behind


def test_settle_heap_freezes_survivors_and_raises_the_full_collection_threshold(restore_gc: None) -> None:
    gc.unfreeze()
    gen0, gen1, _ = gc.get_threshold()
    survivor: list[list[int]] = [[] for _ in range(1000)]
    settle_heap(123)
    assert gc.get_freeze_count() >= len(survivor)
    assert gc.get_threshold() == (gen0, gen1, 123)
    assert gc.get_count()[2] == 0


def test_idle_collector_collects_only_when_no_items_arrive(qapp: Any, restore_gc: None) -> None:
    from PySide6.QtCore import QObject, Signal

    class Bus(QObject):
        items_added = Signal(tuple)
        items_changed = Signal(tuple)

    bus = Bus()
    collector = IdleCollector(bus, interval_ms=60_000, quiet_s=0.2)
    try:
        gc.collect(1)  # moves objects to the oldest generation: a full pass is due
        assert gc.get_count()[2] > 0
        bus.items_added.emit((1, 2))
        collector._tick()  # items just arrived: a burst is on
        assert collector.collections == 0
        collector._last_change -= 1.0  # quiet for a second
        collector._tick()
        assert collector.collections == 1
        assert gc.get_count()[2] == 0
    finally:
        collector.stop()
