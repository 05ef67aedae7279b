# The two commands of the README: `make run [FOLDER=...]` and `make test`.
VENV := .venv
FOLDER ?=

.PHONY: setup run test
setup:
	@bash scripts/setup.sh

run: setup
	@$(VENV)/bin/clml-desktop $(FOLDER)

test: setup
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)
