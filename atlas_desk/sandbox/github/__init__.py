"""A loopback GitHub (REST v3 + GraphQL) for the desk's demo mode and tests."""

from atlas_desk.sandbox.github.server import GitHubSandbox

__all__ = ["GitHubSandbox"]
