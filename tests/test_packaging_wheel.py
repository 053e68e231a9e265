"""The wheel carries the icons, the migrations and every sub-package (built once from a copy of the sources).

Building needs pip to fetch setuptools for the isolated build (about 10 s here); the clean-venv install and
``atlas-desk --version`` run from the wheel are in .ci/smoke-packaging.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # Build from a copy so the checkout gets no build/ or egg-info, and stale build/lib files cannot leak in.
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("atlas_desk", "resources"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copyfile(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    result = subprocess.run(
        [*pip, "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("atlas_desk-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_has_icons_and_migrations(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    icons = {p.name for p in (ROOT / "resources" / "icons").glob("*.svg")}
    assert icons and {f"atlas_desk/resources/icons/{n}" for n in icons} <= names
    assert "atlas_desk/resources/__init__.py" in names
    migrations = {p.name for p in (ROOT / "atlas_desk" / "store" / "migrations").glob("*.sql")}
    assert migrations and {f"atlas_desk/store/migrations/{n}" for n in migrations} <= names


def test_wheel_has_every_package_and_no_tests(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    packages = [p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "atlas_desk").rglob("__init__.py")]
    assert "atlas_desk/sandbox" in packages
    for package in packages:
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    assert not any(n.startswith(("tests/", "bench/", "packaging/")) for n in names)
    assert not any("__pycache__" in n for n in names)


def test_wheel_installs_the_command(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "atlas-desk = atlas_desk.cli:main" in text
