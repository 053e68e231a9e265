"""A long Discord rate limit hands the reply back to the outbox instead of holding it inside the send."""

from __future__ import annotations

import asyncio
import time

import pytest

from atlas_desk.core.types import ActionError
from tests.test_discord_support import IDEAS, FakeSink, live_connector, reply_action, run, running_sandbox


def test_a_long_429_is_retryable_with_its_wait_and_sends_nothing(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox, live_connector(sandbox, FakeSink()) as connector:
            sandbox.fail_next("/channels/*/messages", 429, retry_after=120.0, method="POST")
            started = time.monotonic()
            with pytest.raises(ActionError) as caught:
                await connector.execute(reply_action("reply-long-429", IDEAS, "Thanks!"))
            assert time.monotonic() - started < 5  # not slept out inside the send
            assert caught.value.retryable
            assert caught.value.retry_after == pytest.approx(120.0)
            assert sandbox.sent_messages(IDEAS) == []
            # once the wait is over the outbox's retry goes through, once
            result = await connector.execute(reply_action("reply-long-429", IDEAS, "Thanks!"))
            assert [m["id"] for m in sandbox.sent_messages(IDEAS)] == [result["message_id"]]

    run(aloop, body)
