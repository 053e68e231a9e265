"""Linux desktop integration files: the .desktop entry, the AppStream metainfo and the hicolor icons."""

from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from atlas_desk import APP_ID, APP_NAME, __version__

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
SCREENSHOT_PANES = {"inbox", "tickets", "roadmap", "calendar", "insights"}


def _desktop() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # desktop keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser


def test_desktop_entry_has_the_required_keys() -> None:
    entry = _desktop()["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == APP_NAME
    assert entry["Icon"] == APP_ID  # the hicolor icons below are named after the app id
    assert entry["Exec"].split()[0] == "atlas-desk"
    assert entry["Terminal"] == "false"
    assert entry["Comment"] and entry["GenericName"]
    categories = entry["Categories"]
    assert categories.endswith(";") and "Network" in categories.split(";")
    keywords = entry["Keywords"].split(";")
    assert {"Discord", "GitHub", "Reddit", "moderation"} <= set(keywords)


def test_desktop_file_name_and_window_class_match_the_app() -> None:
    # Wayland compositors match the window's app id (QGuiApplication.desktopFileName = APP_ID) to the file
    # name; on X11 Qt sets the WM_CLASS class to the application name, which StartupWMClass must equal.
    assert DESKTOP.stem == APP_ID
    assert _desktop()["Desktop Entry"]["StartupWMClass"] == APP_NAME
    app_source = (ROOT / "atlas_desk" / "app.py").read_text(encoding="utf-8")
    assert "setDesktopFileName(APP_ID)" in app_source
    assert "setApplicationName(APP_NAME)" in app_source


def test_desktop_demo_action_is_declared() -> None:
    parser = _desktop()
    actions = [a for a in parser["Desktop Entry"]["Actions"].split(";") if a]
    for action in actions:
        group = parser[f"Desktop Action {action}"]
        assert group["Name"] and group["Exec"].startswith("atlas-desk")
    assert "--demo" in parser["Desktop Action demo"]["Exec"]


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_validates() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def _metainfo() -> ET.Element:
    return ET.parse(METAINFO).getroot()


def test_metainfo_identifies_the_app() -> None:
    root = _metainfo()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == APP_NAME
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    assert root.findtext("metadata_license") and root.findtext("project_license")
    assert root.findtext("summary")
    assert len(root.findall("description/p")) >= 1
    assert (root.findtext("url[@type='homepage']") or "").startswith("https://")
    assert root.findtext("developer/name") or root.findtext("developer_name")


def test_metainfo_latest_release_is_this_version() -> None:
    releases = _metainfo().findall("releases/release")
    assert releases, "no <release>"
    # AppStream lists releases newest first.
    assert releases[0].get("version") == __version__
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert tomllib.load(f)["project"]["version"] == __version__


def test_metainfo_rating_and_screenshots() -> None:
    root = _metainfo()
    rating = root.find("content_rating")
    assert rating is not None and rating.get("type") == "oars-1.1"
    images = [image.text or "" for image in root.findall("screenshots/screenshot/image")]
    assert images
    # One URL base for all (the "shots" entity), pointing at what `make screenshots` writes.
    bases = {url.rsplit("/", 1)[0] for url in images}
    assert len(bases) == 1 and bases.pop().endswith("/docs/screenshots")
    assert all(url.startswith("https://") for url in images)
    assert {Path(url).stem for url in images} <= SCREENSHOT_PANES
    assert len(root.findall("screenshots/screenshot[@type='default']")) == 1


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_metainfo_validates() -> None:
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_icons_exist_in_every_size() -> None:
    hicolor = PACKAGING / "icons" / "hicolor"
    for size in ICON_SIZES:
        png = hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png.is_file(), f"missing {png} (run `make icons`)"
        assert _png_size(png) == (size, size)
    scalable = hicolor / "scalable" / "apps" / f"{APP_ID}.svg"
    # The scalable icon is the app's own icon, not a fork of it.
    assert scalable.read_bytes() == (ROOT / "resources" / "icons" / "atlas-desk.svg").read_bytes()


def test_render_icons_script_matches_the_committed_sizes(qapp: object, tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_icons", PACKAGING / "render_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert tuple(module.SIZES) == ICON_SIZES
    assert module.ICON_NAME == APP_ID
    written = module.render(tmp_path)
    assert len(written) == len(ICON_SIZES) + 1
    png = tmp_path / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png"
    assert _png_size(png) == (48, 48)


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_install_desktop_installs_for_the_user(tmp_path: Path) -> None:
    prefix = tmp_path / "share"
    exe = "/opt/atlas-desk/atlas-desk"
    result = subprocess.run(
        ["make", "--no-print-directory", "install-desktop", f"DESKTOP_PREFIX={prefix}", f"EXEC={exe}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    installed = prefix / "applications" / DESKTOP.name
    text = installed.read_text(encoding="utf-8")
    assert f"Exec={exe}\n" in text and f"Exec={exe} --demo\n" in text
    assert (prefix / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    for size in ICON_SIZES:
        assert (prefix / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (prefix / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(installed)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
