"""GitHub connector: issues, issue comments and Discussions through PyGithub (REST + GraphQL)."""

from atlas_desk.platforms.github.connector import GitHubConnector

__all__ = ["GitHubConnector"]
