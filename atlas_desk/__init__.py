"""Atlas Desk: the Atlas community's moderation desk."""

__version__ = "0.1.0"
APP_NAME = "Atlas Desk"
APP_ID = "app.atlas.AtlasDesk"
ORG_NAME = "Atlas"
