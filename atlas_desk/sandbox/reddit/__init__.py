"""A loopback Reddit (OAuth + REST) that praw talks to as it would to reddit.com."""

from atlas_desk.sandbox.reddit.server import RedditSandbox

__all__ = ["RedditSandbox"]
