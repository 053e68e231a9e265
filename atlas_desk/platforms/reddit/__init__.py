"""Reddit: praw on one worker thread; submissions, comments and the mod queue into the inbox."""

from atlas_desk.platforms.reddit.connector import RedditConnector

__all__ = ["RedditConnector"]
