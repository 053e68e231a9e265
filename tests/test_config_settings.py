"""Settings: the TOML contract, validation errors that name the key, env overrides, directories."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from atlas_desk import config
from atlas_desk.config import (
    ConfigError,
    Settings,
    data_dir,
    default_config_path,
    load_settings,
    save_settings,
    settings_from_dict,
    store_path,
)

FULL = """
[discord]
api = "http://127.0.0.1:5001/api/v10"
gateway = "ws://127.0.0.1:5001/gateway"
guild_id = 1100000000000000001
watch_channels = [1100000000000000002, "1100000000000000003"]
tickets_forum_id = "1100000000000000004"
support_channel_id = 1100000000000000005
relay = false

[github]
api = "http://127.0.0.1:5002/api/v3/"
repo = "atlas-app/atlas"
project_owner = "atlas-app"
project_number = 3
poll_seconds = 15

[reddit]
url = "http://127.0.0.1:5003"
subreddit = "r/AtlasApp"
poll_seconds = 10

[sla]
first_response_hours = 12
warn_before_hours = 1.5

[desk]
moderator_handles = ["mira", "tomas"]
keywords = ["crash", "refund"]
keep_in_tray = true
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file_loads_typed(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, FULL), environ={})
    assert s.discord.guild_id == "1100000000000000001"
    assert s.discord.watch_channels == ("1100000000000000002", "1100000000000000003")
    assert s.discord.relay is False
    assert s.github.api == "http://127.0.0.1:5002/api/v3"  # trailing slash dropped
    assert s.github.project_number == 3 and s.github.poll_seconds == 15
    assert s.reddit.subreddit == "AtlasApp"  # "r/" prefix accepted
    assert s.sla.first_response_hours == 12.0 and s.sla.warn_before_hours == 1.5
    assert s.desk.moderator_handles == ("mira", "tomas") and s.desk.keep_in_tray is True
    assert s.configured_platforms() == ["discord", "github", "reddit"]
    assert s.github.project_configured


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "missing.toml", environ={})
    assert s.sla.first_response_hours == 24 and s.sla.warn_before_hours == 2
    assert s.discord.relay is True
    assert s.github.poll_seconds == 60 and s.reddit.poll_seconds == 30
    assert s.discord.api == config.DISCORD_API_DEFAULT
    assert not s.discord.configured and not s.github.configured and not s.reddit.configured
    assert s.configured_platforms() == []


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={}, must_exist=True)


def test_error_names_key_value_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[github]\nrepo = "a/b"\npoll_seconds = "fast"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    message = str(info.value)
    assert "github.poll_seconds must be an integer ≥ 5, got 'fast'" in message
    assert str(path) in message
    assert info.value.key == "github.poll_seconds"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[github]\npoll_seconds = 4\n", "github.poll_seconds"),
        ("[github]\npoll_seconds = true\n", "github.poll_seconds"),
        ('[github]\nrepo = "just-a-name"\n', "github.repo"),
        ('[github]\nrepo = "a/b"\nproject_owner = "a"\n', "github.project_number"),
        ("[github]\nproject_number = 0\n", "github.project_number"),
        ("[reddit]\npoll_seconds = 1\n", "reddit.poll_seconds"),
        ('[reddit]\nsubreddit = "not a sub!"\n', "reddit.subreddit"),
        ('[reddit]\nurl = "ftp://example.org"\n', "reddit.url"),
        ('[discord]\nguild_id = "general"\n', "discord.guild_id"),
        ('[discord]\nwatch_channels = "123"\n', "discord.watch_channels"),
        ('[discord]\nwatch_channels = [1, "x"]\n', "discord.watch_channels"),
        ('[discord]\nrelay = "yes"\n', "discord.relay"),
        ('[discord]\ngateway = "http://127.0.0.1:1"\n', "discord.gateway"),
        ("[sla]\nfirst_response_hours = 0\n", "sla.first_response_hours"),
        ("[sla]\nfirst_response_hours = 2\nwarn_before_hours = 3\n", "sla.warn_before_hours"),
        ('[desk]\nkeywords = ["a", 1]\n', "desk.keywords"),
        ("[desk]\nkeep_in_tray = 1\n", "desk.keep_in_tray"),
    ],
)
def test_invalid_values_name_their_key(tmp_path: Path, toml: str, key: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert info.value.key == key
    assert key in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_key_is_rejected_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, '[github]\nrepo = "a/b"\npol_seconds = 10\n')
    with pytest.raises(ConfigError, match=r"unknown key github\.pol_seconds") as info:
        load_settings(path, environ={})
    assert str(path) in str(info.value)


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown section \[discrod\]"):
        load_settings(write(tmp_path, "[discrod]\nguild_id = 1\n"), environ={})


def test_top_level_value_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sla"):
        load_settings(write(tmp_path, "sla = 3\n"), environ={})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[github\nrepo = ")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_settings(path, environ={})
    assert str(path) in str(info.value)


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    env = {
        "ATLAS_DESK_DISCORD_API": "http://127.0.0.1:9/api/v10",
        "ATLAS_DESK_DISCORD_GATEWAY": "ws://127.0.0.1:9/gw",
        "ATLAS_DESK_GITHUB_API": "http://127.0.0.1:8/api/v3",
        "ATLAS_DESK_REDDIT_URL": "http://127.0.0.1:7",
        "ATLAS_DESK_GITHUB_POLL_SECONDS": "7",
        "ATLAS_DESK_DISCORD_WATCH_CHANNELS": "1, 2",
        "ATLAS_DESK_DISCORD_RELAY": "yes",
    }
    s = load_settings(path, environ=env)
    assert s.discord.api == "http://127.0.0.1:9/api/v10"
    assert s.discord.gateway == "ws://127.0.0.1:9/gw"
    assert s.github.api == "http://127.0.0.1:8/api/v3"
    assert s.reddit.url == "http://127.0.0.1:7"
    assert s.github.poll_seconds == 7
    assert s.discord.watch_channels == ("1", "2")
    assert s.discord.relay is True
    assert "github.poll_seconds" in s.overridden and "github.repo" not in s.overridden
    # The file's value is what a settings editor sees without the environment.
    assert load_settings(path, environ={}).github.poll_seconds == 15


def test_os_environ_is_the_default_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_DESK_GITHUB_API", "http://127.0.0.1:4/api/v3")
    assert load_settings(write(tmp_path, FULL)).github.api == "http://127.0.0.1:4/api/v3"


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, FULL), environ={"ATLAS_DESK_GITHUB_POLL_SECONDS": "fast"})
    assert "ATLAS_DESK_GITHUB_POLL_SECONDS" in str(info.value)
    assert "github.poll_seconds must be an integer ≥ 5, got 'fast'" in str(info.value)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    original = load_settings(write(tmp_path, FULL), environ={})
    target = save_settings(original, tmp_path / "sub" / "saved.toml")
    again = load_settings(target, environ={})
    assert again == original
    # Optional numbers left unset are left out (TOML has no null) and still load.
    bare = save_settings(Settings(), tmp_path / "bare.toml")
    assert "project_number" not in bare.read_text()
    assert load_settings(bare, environ={}) == Settings()


def test_with_section_validates(tmp_path: Path) -> None:
    s = config.with_section(Settings(), "github", repo="atlas-app/atlas", poll_seconds=30)
    assert s.github.configured and s.github.poll_seconds == 30
    with pytest.raises(ConfigError, match=r"github\.poll_seconds"):
        config.with_section(Settings(), "github", poll_seconds=1)


def test_validators_match_dataclasses() -> None:
    for section, cls in config.SECTIONS.items():
        assert set(config.VALIDATORS[section]) == {f.name for f in dataclasses.fields(cls)}, section


def test_settings_from_dict_for_sandbox_ids() -> None:
    s = settings_from_dict({"discord": {"guild_id": 42}, "reddit": {"subreddit": "AtlasApp"}}, environ={})
    assert s.discord.guild_id == "42" and s.configured_platforms() == ["discord", "reddit"]


def test_demo_data_dir_never_mixes_with_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real, demo = data_dir(False), data_dir(True)
    assert real != demo and demo.parent == real
    assert store_path(real) != store_path(demo)
    # --data-dir > ATLAS_DESK_DATA_DIR > platformdirs
    monkeypatch.setenv("ATLAS_DESK_DATA_DIR", str(tmp_path / "env"))
    assert data_dir(False) == tmp_path / "env"
    assert data_dir(True) == tmp_path / "env" / "demo"
    assert data_dir(False, tmp_path / "flag") == tmp_path / "flag"
    assert data_dir(True, tmp_path / "flag") != data_dir(False, tmp_path / "flag")


def test_user_dirs_follow_platformdirs(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_config_path().is_relative_to(isolated_dirs / ".config")
    assert data_dir(False).is_relative_to(isolated_dirs / ".local/share")
    assert config.log_dir().is_relative_to(isolated_dirs)
    monkeypatch.setenv("ATLAS_DESK_CONFIG", str(isolated_dirs / "elsewhere.toml"))
    assert default_config_path() == isolated_dirs / "elsewhere.toml"
