# The two commands of the README: `make demo` and `make test`.
# Both create (once) and use the virtual environment at .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Trains on the bundled digits, reports bits/dim, writes samples, exports a SavedModel.
demo: $(STAMP)
	$(VENV)/bin/pixel-rnn-train --output_dir=runs/demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist=loadfile -q --durations=25

clean:
	rm -rf $(VENV) runs build dist *.egg-info
