"""Where the desk keeps its files: config file, data dir (the store), log dir.

Kept apart from ``atlas_desk.config`` (settings, TOML, validation) so the desk finds its data dir before its
first paint without importing the settings machinery; ``atlas_desk.config`` re-exports all of it.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR_NAME = "atlas-desk"
CONFIG_FILENAME = "config.toml"
STORE_FILENAME = "atlas-desk.sqlite3"
DEMO_SUBDIR = "demo"
ENV_PREFIX = "ATLAS_DESK_"


def default_config_path() -> Path:
    """``ATLAS_DESK_CONFIG`` if set, else ``config.toml`` in the user config dir."""
    env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_DIR_NAME, appauthor=False)) / CONFIG_FILENAME


def data_dir(demo: bool = False, override: Path | None = None) -> Path:
    """Where the store lives: ``--data-dir`` > ``ATLAS_DESK_DATA_DIR`` > the user data dir.

    Demo data goes to a ``demo`` subdirectory of that base, so the sandbox community never mixes with real
    data.
    The directory is not created here.
    """
    if override is not None:
        base = Path(override).expanduser()
    elif os.environ.get(f"{ENV_PREFIX}DATA_DIR"):
        base = Path(os.environ[f"{ENV_PREFIX}DATA_DIR"]).expanduser()
    else:
        import platformdirs

        base = Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))
    return base / DEMO_SUBDIR if demo else base


def store_path(directory: Path) -> Path:
    """The SQLite file inside a data dir."""
    return directory / STORE_FILENAME


def log_dir() -> Path:
    """``ATLAS_DESK_LOG_DIR`` if set, else the user log dir (not created here)."""
    env = os.environ.get(f"{ENV_PREFIX}LOG_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_DIR_NAME, appauthor=False))
