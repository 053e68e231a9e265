"""The layer rule: core/, store/, platforms/ and sandbox/ never import PySide6, directly or not."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import atlas_desk

QT_FREE = ("core", "store", "platforms", "sandbox")
PACKAGE = Path(atlas_desk.__file__).parent


def _modules() -> list[str]:
    names = []
    for sub in QT_FREE:
        names.append(f"atlas_desk.{sub}")
        path = PACKAGE / sub
        for info in pkgutil.walk_packages([str(path)], prefix=f"atlas_desk.{sub}."):
            names.append(info.name)
    return names


def find_qt_imports(root: Path) -> list[str]:
    """Every ``import``/``from`` of PySide6, shiboken6 or qasync under ``root``, as "file:line"."""
    offenders = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in {"PySide6", "shiboken6", "qasync"} for n in names):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    return offenders


def test_qt_free_layers_have_no_qt_import_statements() -> None:
    assert [hit for sub in QT_FREE for hit in find_qt_imports(PACKAGE / sub)] == []


def test_import_check_finds_a_nested_lazy_import(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("import asyncio\n", encoding="utf-8")
    (tmp_path / "pkg" / "bad.py").write_text("def f():\n    from PySide6 import QtCore\n", encoding="utf-8")
    assert find_qt_imports(tmp_path) == ["pkg/bad.py:2"]


def test_importing_qt_free_layers_loads_no_qt() -> None:
    modules = _modules()
    assert len(modules) > 4
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == ""
