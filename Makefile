# Atlas Desk — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
SCREENSHOTS ?= docs/screenshots

.PHONY: demo test lint typecheck unit bench screenshots clean dist wheel icons install-desktop uninstall-desktop

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e '.[test]'
	@touch $@ $(VENV)/.installed

## demo: set up and run the desk on the seeded demo community (renders PNGs when there is no display)
demo: $(VENV)/.installed
	@sh packaging/check-display.sh $(PY)
	$(VENV)/bin/atlas-desk --demo

## test: set up and run ruff, mypy and the test suite (offscreen)
test: $(VENV)/.installed-test lint typecheck unit

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check atlas_desk tests bench

typecheck: $(VENV)/.installed-test
	$(VENV)/bin/mypy

unit: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

## screenshots: regenerate the README's screenshots from the app itself
screenshots: $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/atlas-desk --demo --screenshot $(SCREENSHOTS)

## bench: run the benchmarks (numbers go to BENCHMARKS.md by hand, with the command)
bench: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(PY) bench/startup.py

## dist: build the one-folder bundle dist/atlas-desk/ (atlas-desk + atlas-desk-cli) with PyInstaller
dist: $(VENV)/.installed-dist
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/atlas-desk.spec
	@du -sh dist/atlas-desk

$(VENV)/.installed-dist: $(VENV)/.installed
	$(PIP) install 'pyinstaller>=6.10'
	@touch $@

## wheel: build dist/atlas_desk-<version>-py3-none-any.whl (with icons and migrations) and check its contents
wheel: | $(VENV)/bin/python
	rm -rf build/lib build/bdist.* dist/atlas_desk-*.whl  # setuptools would pack stale files from build/lib
	$(PY) -m pip --disable-pip-version-check wheel -q --no-deps -w dist .
	@for f in atlas_desk/resources/icons/atlas-desk.svg atlas_desk/store/migrations/0001_initial.sql \
			atlas_desk/cli.py; do \
		unzip -l dist/atlas_desk-*.whl | grep -q " $$f$$" || { echo "wheel lacks $$f" >&2; exit 1; }; \
	done
	@ls dist/atlas_desk-*.whl

## icons: render the app icon into packaging/icons/hicolor/<size>/apps (the PNGs are committed)
icons: $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(PY) packaging/render_icons.py packaging/icons

## install-desktop: install the .desktop file, AppStream metainfo and icons for the current user
## (EXEC=/path/to/dist/atlas-desk/atlas-desk to launch a bundle instead of `atlas-desk` on PATH)
DESKTOP_PREFIX ?= $(HOME)/.local/share
EXEC ?= atlas-desk
DESKTOP_ID := app.atlas.AtlasDesk
install-desktop:
	install -Dm644 packaging/$(DESKTOP_ID).desktop $(DESKTOP_PREFIX)/applications/$(DESKTOP_ID).desktop
	sed -i 's|^Exec=atlas-desk|Exec=$(EXEC)|' $(DESKTOP_PREFIX)/applications/$(DESKTOP_ID).desktop
	install -Dm644 packaging/$(DESKTOP_ID).metainfo.xml $(DESKTOP_PREFIX)/metainfo/$(DESKTOP_ID).metainfo.xml
	cd packaging/icons && for f in hicolor/*/apps/$(DESKTOP_ID).*; do \
		install -Dm644 "$$f" "$(DESKTOP_PREFIX)/icons/$$f" || exit 1; \
	done
	-command -v update-desktop-database >/dev/null && update-desktop-database -q $(DESKTOP_PREFIX)/applications
	@echo "installed $(DESKTOP_ID) into $(DESKTOP_PREFIX) (Exec=$(EXEC))"

uninstall-desktop:
	rm -f $(DESKTOP_PREFIX)/applications/$(DESKTOP_ID).desktop $(DESKTOP_PREFIX)/metainfo/$(DESKTOP_ID).metainfo.xml
	rm -f $(DESKTOP_PREFIX)/icons/hicolor/*/apps/$(DESKTOP_ID).*
	-command -v update-desktop-database >/dev/null && update-desktop-database -q $(DESKTOP_PREFIX)/applications

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
