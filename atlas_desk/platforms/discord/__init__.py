"""Discord: the connector (``connector.DiscordConnector``) and the translation into inbox items.

Import ``atlas_desk.platforms.discord.connector`` only where it is needed: discord.py is slow to load.
"""
