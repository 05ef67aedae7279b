# The two commands of the README: `make run [FOLDER=...]` and `make test`.
VENV := .venv
FOLDER ?=

.PHONY: setup run test install-desktop uninstall-desktop package
setup:
	@bash scripts/setup.sh

run: setup
	@$(VENV)/bin/clml-desktop $(FOLDER)

test: setup
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Menu entry, AppStream metainfo and icons in ${XDG_DATA_HOME:-~/.local/share},
# starting this checkout's .venv/bin/clml-desktop (clml_desktop/desktop_integration/
# install-desktop.sh; an installed app runs it as `clml-desktop install-desktop`).
install-desktop: setup
	@$(VENV)/bin/clml-desktop install-desktop

uninstall-desktop:
	@bash clml_desktop/desktop_integration/install-desktop.sh uninstall

# The standalone one-folder bundle, dist/clml-desktop/clml-desktop (PyInstaller; ADR 0023,
# docs/bundle.md). PyInstaller comes with the dev extra that setup installs.
# torch stays out: the bundle trains with an external Python (CLML_TRAINER_PYTHON).
package: setup
	@start=$$(date +%s); \
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller packaging/bundle/clml-desktop.spec && \
	echo "bundle: dist/clml-desktop/clml-desktop ($$(du -sm dist/clml-desktop | cut -f1) MB), built in $$(( $$(date +%s) - start )) s"
