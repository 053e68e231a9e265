"""Small aiohttp helpers shared by the sandbox platform servers.

Every server binds its own loopback site on port 0 (the OS picks a free port) and answers JSON with a
Content-Type of exactly ``application/json``: discord.py treats ``application/json; charset=utf-8`` (aiohttp's
``web.json_response`` default) as text and its login crashes (see PLATFORMS.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

log = logging.getLogger("atlas_desk.sandbox")

JSON_CONTENT_TYPE = "application/json"


async def start_app(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, int]:
    """Start ``app`` on ``host``:``port`` (0: a free port); return its runner and the port actually bound."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    server = site._server  # aiohttp exposes no public accessor for the bound socket
    bound = port
    sockets = getattr(server, "sockets", None)
    if sockets:
        bound = int(sockets[0].getsockname()[1])
    else:  # pragma: no cover - aiohttp always has sockets after start()
        for addr in runner.addresses:
            bound = int(addr[1])
            break
    log.debug("sandbox app listening on http://%s:%d", host, bound)
    return runner, bound


def json_dumps(data: Any) -> str:
    """Serialise ``data`` compactly, keeping non-ASCII text as is (names carry emoji and RTL marks)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_default)


def _default(obj: object) -> object:
    # datetimes are the only non-JSON values the servers are likely to hand over by accident
    iso = getattr(obj, "isoformat", None)
    if callable(iso):
        return iso()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON response whose Content-Type header is exactly ``application/json`` (no charset parameter)."""
    body = json_dumps(data).encode("utf-8")
    hdrs: dict[str, str] = dict(headers or {})
    # Setting the header directly (not content_type=) keeps aiohttp from appending "; charset=...".
    hdrs["Content-Type"] = JSON_CONTENT_TYPE
    return web.Response(body=body, status=status, headers=hdrs)
