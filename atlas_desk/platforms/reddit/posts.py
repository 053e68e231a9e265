"""Scheduled posts on Reddit: the ``submit`` outbox action (a self post in the subreddit).

``install_submit(connector)`` registers it on a ``RedditConnector``. praw runs on the connector's worker
thread (``connector._call``). Reddit has no idempotency key for submissions, so a replay (the desk died after
Reddit accepted the post but before the outbox recorded it) first looks through the account's newest
submissions for one with the same title and text, and returns that instead of posting twice.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from atlas_desk.core.types import ActionError, OutboxAction
from atlas_desk.platforms.reddit.connector import RedditConnector, _action_error
from atlas_desk.platforms.reddit.translate import thing_data

log = logging.getLogger("atlas_desk.reddit.posts")

_REPLAY_CHECK = 25  # newest submissions of the account searched on a replay


def install_submit(connector: RedditConnector) -> None:
    """Let ``connector`` execute ``submit`` actions: payload ``{"title", "body"}``, target the subreddit."""

    async def submit(action: OutboxAction) -> dict[str, Any]:
        title = str(action.payload.get("title") or "").strip()
        body = str(action.payload.get("body") or "")
        if not title:
            raise ActionError("a Reddit post needs a title", retryable=False)
        if len(title) > 300:
            raise ActionError("Reddit titles are limited to 300 characters", retryable=False)
        subreddit = (action.target or connector.subreddit).removeprefix("r/")
        try:
            return await connector._call(
                partial(_submit_sync, connector, subreddit, title, body, action.attempts > 1)
            )
        except ActionError:
            raise
        except Exception as exc:
            raise _action_error(exc) from None

    connector.action_handlers["submit"] = submit


def _result(subreddit: str, post_id: str) -> dict[str, Any]:
    return {
        "platform_id": f"t3_{post_id}",
        "url": f"https://www.reddit.com/r/{subreddit}/comments/{post_id}/",
    }


def _submit_sync(
    connector: RedditConnector, subreddit: str, title: str, body: str, replay: bool
) -> dict[str, Any]:
    reddit = connector._praw()
    if replay:
        me = str(vars(reddit.user.me()).get("name") or "")
        for post in reddit.redditor(me).submissions.new(limit=_REPLAY_CHECK):
            data = thing_data(post)
            if data.get("title") == title and str(data.get("selftext", "")).strip() == body.strip():
                log.info("reddit: the scheduled post %r already exists, not posting again", title)
                return _result(subreddit, str(data.get("id") or ""))
    submission = reddit.subreddit(subreddit).submit(title, selftext=body)
    return _result(subreddit, str(submission.id))
