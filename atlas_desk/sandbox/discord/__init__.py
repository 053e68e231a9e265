"""A loopback Discord (REST + gateway) that discord.py's ``Client`` talks to as if it were Discord."""

from atlas_desk.sandbox.discord.server import DiscordSandbox

__all__ = ["DiscordSandbox"]
