import asyncio


def test_aloop_runs(aloop: asyncio.AbstractEventLoop) -> None:
    assert aloop.run_until_complete(asyncio.sleep(0, result=3)) == 3
