"""Self posts by the desk's account for the Reddit sandbox: ``POST /api/submit/`` and the account's own
submissions (``GET /user/{name}/submitted``), in the shapes praw's ``Subreddit.submit`` and
``Redditor.submissions`` read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from atlas_desk.sandbox.reddit.server import RedditSandbox

Handler = Any


def submit_routes(server: RedditSandbox) -> list[tuple[str, str, Handler]]:
    """The routes, bound to ``server``."""
    from atlas_desk.sandbox.reddit.server import _json

    async def submit(request: web.Request) -> web.Response:
        form = await request.post()
        sr = str(form.get("sr", ""))
        title = str(form.get("title", "")).strip()
        text = str(form.get("text", ""))
        if sr.lower() != server.subreddit.lower():
            return _json({"json": {"errors": [["SUBREDDIT_NOEXIST", "that subreddit doesn't exist", "sr"]]}})
        if not title or len(title) > 300:
            return _json({"json": {"errors": [["NO_TEXT", "we need something here", "title"]]}})
        if str(form.get("kind", "self")) != "self":
            return _json(
                {"json": {"errors": [["NO_LINKS", "this community only allows text posts", "kind"]]}}
            )
        fullname = server.add_post(server.username, title, text)
        thing = server._things[fullname]
        url = f"{server.url}{server._permalink(thing)}"
        return _json({"json": {"errors": [], "data": {"url": url, "id": thing.id, "name": fullname}}})

    async def submitted(request: web.Request) -> web.Response:
        name = request.match_info["name"].lower()
        mine = [t for t in server._newest_first() if t.kind == "t3" and t.author.lower() == name]
        return server._listing(request, mine)

    return [
        ("POST", "/api/submit", submit),
        ("POST", "/api/submit/", submit),
        ("GET", "/user/{name}/submitted", submitted),
        ("GET", "/user/{name}/submitted/", submitted),
    ]
