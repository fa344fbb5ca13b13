# The two commands a new user needs:  `make run`  and  `make test`.
# Each sets up whatever is missing first (environments, Rasa model, database schema).
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: help setup model migrate run test test-unit lint nlu-eval ocr-eval dialogue-eval bench-registration bench-reminders bench-funnel bench-submissions bench-load bench-wave registry-samples village-reachability screenshots clean

help:
	@echo "make run    start Sadar (Rasa server, action server, gateway); chat at http://127.0.0.1:8000/"
	@echo "make test   set up everything and run the whole test suite"
	@echo "make lint   ruff checks and mypy (strict for bot/domain and bot/services)"
	@echo "make nlu-eval  NLU benchmark (accuracy, entity F1, cross-validation, latency)"
	@echo "make ocr-eval  KTP photo reading on generated cards: NIK/name/birth date, time, memory"
	@echo "make dialogue-eval  dialogue corpus end to end: step and conversation pass rates"
	@echo "make bench-registration  turns and wall time of a registration through the gateway"
	@echo "make bench-reminders  plan/queue 1,000,000 participants' reminders; dispatch rate; kill test"
	@echo "make bench-funnel     what recording the registration funnel costs the action server per call"
	@echo "make village-reachability  a generated village: participants no reminder reaches, before/after linking WhatsApp"
	@echo "make bench-load  50 residents chatting at once: turns/s, latency, CPU, memory (BENCH_ARGS=...)"
	@echo "make bench-wave  20,000 WhatsApp reminders while 20% reply: dispatch rate, reply latency, 'mohon tunggu', exactly once (BENCH_ARGS=...)"
	@echo "make screenshots  the operations console (/admin) on demo data, desktop and phone: docs/images/console/*.png"

setup:
	@bash scripts/bootstrap

model: setup
	@$(VENV)/sadar model ensure

migrate: setup
	@$(VENV)/sadar db upgrade

run: setup
	@$(VENV)/sadar run

test: setup
	@bash scripts/ensure-test-services
	@$(VENV)/sadar model ensure
	@printf '\033[1;32m==> Lint (ruff) and types (mypy)\033[0m\n'
	@$(VENV)/ruff check . && $(VENV)/ruff format --check . && $(VENV)/mypy
	@printf '\033[1;32m==> Running the test suite\033[0m\n'
	@$(VENV)/python -m pytest $(PYTEST_ARGS)

test-unit: setup
	@$(VENV)/python -m pytest tests/unit $(PYTEST_ARGS)

nlu-eval: setup
	@.venv-rasa/bin/python scripts/nlu_eval.py --write-docs docs/nlu.md

ocr-eval: setup
	@bash scripts/ensure-test-services
	@$(VENV)/pip install --disable-pip-version-check -q --no-deps -r requirements/ocr-second-reader.txt
	@$(VENV)/python scripts/ocr_eval.py --second-reader $(OCR_ARGS)

dialogue-eval: model
	@bash scripts/ensure-test-services
	@SADAR_DIALOGUE_REPORT=docs/nlu.md SADAR_DIALOGUE_UNSEEN=1 $(VENV)/python -m pytest -q tests/e2e/test_dialogues.py $(PYTEST_ARGS)

bench-registration: model
	@$(VENV)/python scripts/bench_registration.py

bench-reminders: setup
	@bash scripts/ensure-test-services
	@$(VENV)/python scripts/bench_reminders.py

bench-funnel: setup
	@$(VENV)/python scripts/bench_funnel.py $(BENCH_ARGS)

# Before/after in one run: make bench-load BENCH_ARGS="--baseline <git ref> --profile"
bench-submissions: setup
	@bash scripts/ensure-test-services
	@$(VENV)/python scripts/bench_submissions.py $(BENCH_ARGS)

registry-samples: setup
	@$(VENV)/python scripts/registry_samples.py

bench-load: model
	@$(VENV)/python scripts/bench_load.py $(BENCH_ARGS)

# A short check: make bench-wave BENCH_ARGS="--participants 600 --docs ''"
bench-wave: model
	@bash scripts/ensure-test-services
	@$(VENV)/python scripts/bench_wave.py $(BENCH_ARGS)

village-reachability: setup
	@$(VENV)/python scripts/village_reachability.py $(BENCH_ARGS)

# Needs chromium and /usr/bin/chromedriver (Debian; `make test` installs them).
screenshots: setup
	@$(VENV)/python scripts/console_screenshots.py

lint: setup
	@$(VENV)/ruff check . && $(VENV)/ruff format --check . && $(VENV)/mypy

clean:
	rm -rf .venv .venv-rasa var models/*.tar.gz models/.fingerprint
