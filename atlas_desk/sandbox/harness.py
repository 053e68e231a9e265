"""Runs the platform sandbox servers together on loopback, with an optional live-activity mode.

``Sandbox`` starts every available platform server (Discord, GitHub, Reddit) on its own port-0 site in the
current event loop and merges their endpoints (``env()``) and community ids (``config()``). ``SandboxThread``
does the same on a dedicated thread with its own loop, so the desk's ``--demo`` keeps its GUI thread free.

Servers are imported lazily: one whose module does not exist is skipped (and logged), so the harness runs with
whatever servers the tree has.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import inspect
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Protocol, TypeVar, overload

from atlas_desk.sandbox.model import Community

log = logging.getLogger("atlas_desk.sandbox")

T = TypeVar("T")


class PlatformServer(Protocol):
    """What every platform sandbox server offers the harness."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def env(self) -> dict[str, str]: ...

    def config(self) -> dict[str, Any]: ...

    async def simulate_activity(self, rng: random.Random) -> Any: ...


ServerFactory = Callable[..., PlatformServer]  # called as factory(community, host=host)

# platform -> (module, class); imported only when a sandbox starts
SERVER_CLASSES: dict[str, tuple[str, str]] = {
    "discord": ("atlas_desk.sandbox.discord.server", "DiscordSandbox"),
    "github": ("atlas_desk.sandbox.github.server", "GitHubSandbox"),
    "reddit": ("atlas_desk.sandbox.reddit.server", "RedditSandbox"),
}

# Live mode picks a platform per item with these weights: chat is busier than the forums.
LIVE_WEIGHTS: dict[str, float] = {"discord": 3.0, "reddit": 2.0, "github": 1.0}

# env variable -> (config section, key): endpoints also go into config() so a written config file works
# without the environment. Secrets never do.
_ENDPOINT_KEYS: dict[str, tuple[str, str]] = {
    "ATLAS_DESK_DISCORD_API": ("discord", "api"),
    "ATLAS_DESK_DISCORD_GATEWAY": ("discord", "gateway"),
    "ATLAS_DESK_GITHUB_API": ("github", "api"),
    "ATLAS_DESK_REDDIT_URL": ("reddit", "url"),
}


def available_servers(platforms: Iterable[str] | None = None) -> dict[str, ServerFactory]:
    """The platform server classes that can be imported now, by platform name (missing ones are logged)."""
    wanted = list(platforms) if platforms is not None else list(SERVER_CLASSES)
    found: dict[str, ServerFactory] = {}
    for name in wanted:
        if name not in SERVER_CLASSES:
            raise ValueError(f"unknown platform {name!r}; expected one of {', '.join(SERVER_CLASSES)}")
        module_name, class_name = SERVER_CLASSES[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                log.warning("%s sandbox server not available yet (%s): skipped", name, module_name)
                continue
            raise
        cls = getattr(module, class_name, None)
        if cls is None:
            log.warning("%s sandbox server: %s has no %s: skipped", name, module_name, class_name)
            continue
        found[name] = cls
    return found


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge ``extra`` into ``into`` recursively (TOML sections from several servers)."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = {}
            _merge(into[key], value)
        else:
            into[key] = value


class Sandbox:
    """The platform servers for one community, running in the current event loop."""

    def __init__(
        self,
        community: Community,
        *,
        host: str = "127.0.0.1",
        live_rate: float = 0.0,
        servers: Mapping[str, ServerFactory] | None = None,
        platforms: Iterable[str] | None = None,
    ) -> None:
        if live_rate < 0:
            raise ValueError("live_rate must be zero or positive")
        self.community = community
        self.host = host
        self.live_rate = live_rate
        self._factories: Mapping[str, ServerFactory] | None = servers
        self._platforms = list(platforms) if platforms is not None else None
        self.servers: dict[str, PlatformServer] = {}
        self.live_count = 0  # items live mode has produced
        self._live_task: asyncio.Task[None] | None = None
        self._running = False

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every available server (each on a free port), then live mode if ``live_rate`` > 0."""
        if self._running:
            return
        factories = self._factories if self._factories is not None else available_servers(self._platforms)
        if self._factories is not None and self._platforms is not None:
            factories = {k: v for k, v in factories.items() if k in self._platforms}
        try:
            for name, factory in factories.items():
                server = factory(self.community, host=self.host)
                await server.start()
                self.servers[name] = server
        except BaseException:
            await self._stop_servers()
            raise
        self._running = True
        if not self.servers:
            log.warning("sandbox started with no platform servers")
        else:
            log.info("sandbox running: %s", ", ".join(self.servers))
        if self.live_rate > 0:
            self.start_live(self.live_rate)

    async def stop(self) -> None:
        """Stop live mode and every server; safe to call twice."""
        await self.stop_live()
        await self._stop_servers()
        self._running = False

    async def _stop_servers(self) -> None:
        for name, server in reversed(list(self.servers.items())):
            try:
                await server.stop()
            except Exception:  # one server failing to stop must not keep the others' ports open
                log.exception("stopping the %s sandbox server failed", name)
        self.servers.clear()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._running

    def server(self, platform: str) -> PlatformServer:
        """The running server for ``platform`` (KeyError if it is not running)."""
        return self.servers[platform]

    # -- endpoints ------------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment variables for every running server (endpoints and sandbox credentials)."""
        merged: dict[str, str] = {}
        for server in self.servers.values():
            merged.update(server.env())
        return merged

    def config(self) -> dict[str, Any]:
        """A TOML-ready settings dict: each server's section with the community ids, plus its endpoints."""
        merged: dict[str, Any] = {}
        for server in self.servers.values():
            _merge(merged, server.config())
        for var, value in self.env().items():
            if var in _ENDPOINT_KEYS:
                section, key = _ENDPOINT_KEYS[var]
                merged.setdefault(section, {}).setdefault(key, value)
        return merged

    # -- live mode ------------------------------------------------------------------------------------------

    def start_live(self, rate: float, *, seed: int | None = None) -> None:
        """Make ``rate`` new items appear per second across the servers (replaces a running live mode)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        if self._live_task is not None and not self._live_task.done():
            self._live_task.cancel()
        self.live_rate = rate
        rng = random.Random(self.community.seed * 7919 + 1 if seed is None else seed)
        self._live_task = asyncio.get_running_loop().create_task(self._live(rate, rng), name="sandbox-live")

    async def stop_live(self) -> None:
        """Stop live mode and wait for it to finish the item in progress."""
        task, self._live_task = self._live_task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _live(self, rate: float, rng: random.Random) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / rate
        names = sorted(self.servers)
        if not names:
            return
        weights = [LIVE_WEIGHTS.get(n, 1.0) for n in names]
        due = loop.time() + interval
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            name = rng.choices(names, weights)[0]
            server = self.servers.get(name)
            if server is not None:
                try:
                    await server.simulate_activity(rng)
                    self.live_count += 1
                except asyncio.CancelledError:
                    raise
                except Exception:  # a glitch in one server must not end the demo's activity
                    log.exception("live activity on the %s sandbox failed", name)
            due += interval
            # after a stall, carry on at the rate instead of bursting to catch up
            due = max(due, loop.time() - interval)


class SandboxThread:
    """A ``Sandbox`` on its own thread and event loop, controlled from any other thread."""

    def __init__(
        self,
        community: Community,
        *,
        host: str = "127.0.0.1",
        live_rate: float = 0.0,
        servers: Mapping[str, ServerFactory] | None = None,
        platforms: Iterable[str] | None = None,
    ) -> None:
        self.sandbox = Sandbox(
            community, host=host, live_rate=live_rate, servers=servers, platforms=platforms
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 15.0) -> dict[str, str]:
        """Start the servers on the sandbox thread; block until they listen; return their environment."""
        if self._thread is not None:
            raise RuntimeError("sandbox thread already started")
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="atlas-desk-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop(timeout=timeout)
            raise TimeoutError(f"sandbox servers did not start within {timeout:g} s")
        if self._error is not None:
            self._thread.join(timeout)
            self._thread = None
            raise RuntimeError(f"sandbox failed to start: {self._error}") from self._error
        return self.env()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self.sandbox.start())
            except BaseException as exc:  # reported to start() on the caller's thread
                self._error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self.sandbox.stop())
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            asyncio.set_event_loop(None)
            loop.close()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the servers and the thread; safe to call twice and before ``start``."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and thread.is_alive() and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"sandbox thread did not stop within {timeout:g} s")
        self._thread = None
        self._loop = None

    def __enter__(self) -> SandboxThread:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The sandbox's event loop (only while running)."""
        if self._loop is None or self._thread is None:
            raise RuntimeError("sandbox thread is not running")
        return self._loop

    def env(self) -> dict[str, str]:
        """The running servers' environment variables."""
        # plain reads of values fixed at start: safe from any thread, and no deadlock on the sandbox thread
        return self.sandbox.env()

    def config(self) -> dict[str, Any]:
        """The running servers' TOML-ready settings."""
        return self.sandbox.config()

    @overload
    def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> concurrent.futures.Future[T]: ...

    @overload
    def call(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]: ...

    def call(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` on the sandbox loop, awaiting an awaitable result; returns a future of it."""
        loop = self.loop

        async def runner() -> Any:
            result = fn(*args)
            if inspect.isawaitable(result):
                return await result
            return result

        return asyncio.run_coroutine_threadsafe(runner(), loop)
