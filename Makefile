# Two commands matter: `make demo` and `make test`. Both create the environment first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The main job on real data: the user's own ~/.claude / ~/.codex logs when present,
# otherwise real conversations shipped by a PyPI package (see README).
demo: $(STAMP)
	$(BIN)/tokenomy demo

test: $(STAMP)
	$(BIN)/ruff check tokenomy tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check tokenomy tests bench
	$(BIN)/ruff format --check tokenomy tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
