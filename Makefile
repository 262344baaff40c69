# The two Quick-start commands: `make demo` and `make test`. Both set everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DIR := .cache/demo-study

.PHONY: demo test lint bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e ".[dev,train,dicom-export]"
	sh installer/system-deps.sh || echo "warning: dciodvfy/dsrdump missing; the DICOM export tests need them (installer/system-deps.sh)"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/medmo view --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(BIN)/pytest -q --doctest-modules --ignore=app/__main__.py viewer inference app tests

bench: $(STAMP)
	$(BIN)/medmo bench viewer --json
	$(BIN)/medmo bench engine --json
