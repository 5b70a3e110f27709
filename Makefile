# The two commands README.md gives: `make book` and `make test`. Each creates .venv and installs
# what is missing, so a fresh machine needs nothing installed by hand.
PROFILE ?= quick
SEEDS ?= 5
WORKERS ?= 2
PY := .venv/bin/python
EXTRAS ?=
VENV_STAMP := .venv/.installed$(if $(EXTRAS),-$(EXTRAS))
comma := ,
PIP_EXTRAS := book,test$(if $(EXTRAS),$(comma)$(EXTRAS))
export PYTHONHASHSEED := 0

.PHONY: data book book-stored test test-without-data lint unit nbval book-check notebooks bench clean pin \
	test-variant reproduce lab

# CI has the data: there (CI=true, or XRAYLIB_REQUIRE_DATA=1) a missing data folder fails the run
# (nbval and the data tests fail) instead of skipping the tests that need it.
DATA_REQUIRED := $(filter true 1 yes,$(CI) $(XRAYLIB_REQUIRE_DATA))

$(VENV_STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(PIP_EXTRAS)]"
	touch $@

## Build data/covid-xray and data/external from the downloaded public archives (README "Data"):
## make data ARCHIVES="covid19-radiography-database.zip ChestXRay2017.zip ..."
data: $(VENV_STAMP)
	@test -n "$(ARCHIVES)" || { echo 'usage: make data ARCHIVES="zip or folder ..." (README "Data" lists the archives)' >&2; exit 2; }
	$(PY) -m xraylib data import $(ARCHIVES)

## Build the HTML book with every chapter executed, in minutes: the chapters run the preview profile
## (PROFILE=quick) from its pinned runs and read every paper-scale number from records/. To retrain
## those numbers yourself, `make reproduce` first; PROFILE=paper executes the chapters at paper scale.
book: $(VENV_STAMP)
	XRAYLIB_PROFILE=$(PROFILE) .venv/bin/jupyter-book build . -W -n --keep-going
	@echo "Book: _build/html/index.html (profile $(PROFILE))"

## Retrain a protocol at paper scale and rewrite the records the book reads (hours on a CPU; each
## network is stored as soon as it is trained, so a rerun resumes): the initial procedure and the
## five folds (records/<profile>-profile.json), then SEEDS networks of the protocol and three seeds
## of each shortcut-removal arm (records/stress-<profile>.json), WORKERS side by side with one thread each.
## make reproduce PROFILE=authors SEEDS=5
reproduce: $(VENV_STAMP)
	@test "$(PROFILE)" != quick || { echo 'make reproduce: name a paper-scale protocol, e.g. PROFILE=authors or PROFILE=paper' >&2; exit 2; }
	$(PY) -m xraylib train --profile $(PROFILE)
	$(PY) -m xraylib cv --profile $(PROFILE)
	$(PY) -m xraylib record --profile $(PROFILE) --out records/$(PROFILE)-profile.json
	$(PY) -m xraylib.stress train --profile $(PROFILE) --seeds $(SEEDS) --workers $(WORKERS)
	$(PY) -m xraylib.stress record --profile $(PROFILE)
	@echo "Records rewritten; make book shows them"

## JupyterLab on the project's environment, the chapters in the preview profile (each runs top to
## bottom from its own folder, as nbval runs it).
lab: $(VENV_STAMP)
	$(PY) -m pip install --quiet -e ".[$(PIP_EXTRAS),lab]"
	XRAYLIB_PROFILE=$${XRAYLIB_PROFILE:-quick} .venv/bin/jupyter lab --notebook-dir=. \
		$$([ "$$(id -u)" = 0 ] && echo --allow-root) chapters/01_data.ipynb

## Everything CI checks: unit tests, nbval over the chapters, the quick book built from the
## outputs nbval has just checked against a fresh run (so no chapter runs twice), and its HTML.
## Without the data folders (`xraylib data where`) and outside CI: every test that needs no data.
test: $(VENV_STAMP)
	@if [ -n "$(DATA_REQUIRED)" ] || $(PY) -m xraylib data where >/dev/null; then \
		$(MAKE) lint unit nbval && $(MAKE) book-stored && $(MAKE) book-check && \
		$(PY) -m xraylib bench --short; \
	else $(MAKE) test-without-data; fi

## The tests that need no data (unit tests, the book from stored outputs and its HTML), ending with
## one line that names what needs the data and how to get it.
test-without-data: $(VENV_STAMP)
	mkdir -p _build && rm -f _build/data-note.txt
	$(MAKE) lint
	XRAYLIB_DATA_NOTE=_build/data-note.txt $(MAKE) unit
	$(MAKE) book-stored
	$(MAKE) book-check
	@echo "make test ran every test that needs no data; not run without the data folders: nbval \
	over chapters/ and bench --short; $$(cat _build/data-note.txt 2>/dev/null || \
	echo 'get the data with .venv/bin/xraylib data import ARCHIVE... (README Data)')"

## The HTML book from the chapters' stored (quick-profile) outputs, without executing them.
book-stored: $(VENV_STAMP)
	mkdir -p _build
	sed 's/^  execute_notebooks: force$$/  execute_notebooks: "off"/' _config.yml > _build/config-stored.yml
	grep -q 'execute_notebooks: "off"' _build/config-stored.yml
	.venv/bin/jupyter-book build . --config _build/config-stored.yml -W -n --keep-going
	@echo "Book: _build/html/index.html (stored quick-profile outputs)"

## The linter (ruff, configured in pyproject.toml) over the package, the tests and the benchmarks.
lint: $(VENV_STAMP)
	$(PY) -m ruff check xraylib tests benchmarks

unit: $(VENV_STAMP)
	$(PY) -m pytest tests -m "not book" -q

nbval: $(VENV_STAMP)
	XRAYLIB_PROFILE=quick $(PY) -m pytest --nbval intro.ipynb chapters --sanitize-with tests/nbval_sanitize.cfg -q -p no:randomly

book-check: $(VENV_STAMP)
	$(PY) -m pytest tests -m book -q

## A simulated other machine, from an empty cache: the chapters must print the same (pinned runs)
## and a fresh training must fall in the seed spread. By default an AVX2-only CPU with one thread:
## oneDNN (TensorFlow), NumPy's own kernels and OpenBLAS capped at AVX2. Another variant, e.g.:
## make test-variant VARIANT="TF_NUM_INTRAOP_THREADS=4"
VARIANT ?= ONEDNN_MAX_CPU_ISA=AVX2 NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" \
	OPENBLAS_CORETYPE=Haswell TF_NUM_INTRAOP_THREADS=1
test-variant: $(VENV_STAMP)
	rm -rf .cache-variant
	env $(VARIANT) XRAYLIB_CACHE=.cache-variant $(MAKE) nbval
	env $(VARIANT) XRAYLIB_CACHE=.cache-variant $(PY) -m pytest tests/test_seed_spread.py -q

## Train (or load) every quick-profile run the chapters read and keep them in records/runs.
pin: $(VENV_STAMP)
	$(PY) -m xraylib pin --profile quick

## Re-execute the chapters in the quick profile and store their outputs (what nbval compares to).
notebooks: $(VENV_STAMP)
	XRAYLIB_PROFILE=quick $(PY) -m xraylib.book intro.ipynb chapters/*.ipynb

## Training throughput, naive loader vs ours vs compute limit, and which speed levers help (paper
## profile; run on an idle machine); see the Performance page.
bench: $(VENV_STAMP)
	$(PY) -m xraylib bench --out benchmarks/bench-full.json
	$(PY) benchmarks/levers.py benchmarks/levers.json

clean:
	rm -rf _build .cache
