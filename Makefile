# The two commands of the README: `make run [FOLDER=...]` and `make test`.
VENV := .venv
FOLDER ?=

.PHONY: setup run test install-desktop uninstall-desktop
setup:
	@bash scripts/setup.sh

run: setup
	@$(VENV)/bin/clml-desktop $(FOLDER)

test: setup
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Menu entry, AppStream metainfo and icons in ${XDG_DATA_HOME:-~/.local/share},
# starting this checkout's .venv/bin/clml-desktop (packaging/install-desktop.sh).
install-desktop: setup
	@bash packaging/install-desktop.sh install

uninstall-desktop:
	@bash packaging/install-desktop.sh uninstall
