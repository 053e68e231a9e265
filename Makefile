# Atlas Desk — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
SCREENSHOTS ?= docs/screenshots

.PHONY: demo test lint typecheck unit bench screenshots clean

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

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
