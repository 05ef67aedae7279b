"""The main window: the frame every panel plugs into.

It owns layout and wiring only: menus and toolbar from the `ActionRegistry`,
the central page stack (grid first), docks, the status bar with the job
list, drag and drop, and the open-folder flow (all disk work in background
jobs, so the window is usable at once). State lives in the `AppContext`,
data in the store; panels talk through the context's signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.jobs.worker import Worker
from clml_desktop.ui.actions import ActionRegistry
from clml_desktop.ui.batch_bar import BatchBar
from clml_desktop.ui.context import AppContext
from clml_desktop.ui.filter_bar import FilterBar
from clml_desktop.ui.find_similar import SHORTCUT as FIND_SIMILAR_KEY
from clml_desktop.ui.find_similar import SimilarFinder
from clml_desktop.ui.grid_model import GridModel
from clml_desktop.ui.grid_view import GridView
from clml_desktop.ui.job_status import JobStatusWidget
from clml_desktop.ui.settings import MAX_RECENT, THUMB_SIZES
from clml_desktop.ui.tag_panel import TagPanel
from clml_desktop.ui.theme import apply_theme
from clml_desktop.ui.thumbnails import ThumbnailCache, prune_disk_cache
from clml_desktop.ui.welcome import WelcomePage
from clml_desktop.workflow.opening import (
    EmptyFolder,
    OpenReport,
    empty_folder_message,
    prepare_store,
    scan_and_import,
)

APP_TITLE = "CLML Desktop"
DEFAULT_SIZE = (1440, 900)
# What window decorations (title bar, borders) take around the client area, at most;
# the window's own size must leave room for them or the status bar goes off screen.
FRAME_ALLOWANCE = (16, 48)


class PageStack(QStackedWidget):
    """The central pages; only the page shown sets how narrow the window may be.

    A plain QStackedWidget asks for the largest minimum of all its pages, so the
    review page (hidden most of the time) kept the grid's window from going
    narrower than review needs (issue 13)."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        current = self.currentWidget()
        return current.minimumSizeHint() if current is not None else super().minimumSizeHint()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        current = self.currentWidget()
        return current.sizeHint() if current is not None else super().sizeHint()


class MainWindow(QMainWindow):
    """See the module docstring. `folderOpened(root)` fires once a scan finished,
    `openFailed(message)` when a folder could not be opened."""

    folderOpened = Signal(str)
    scanFinished = Signal(object)
    openFailed = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.actions_ = ActionRegistry(self)
        self.menus: dict[str, QMenu] = {}
        self.pages: dict[str, QWidget] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.thumbnails: ThumbnailCache | None = None
        self.last_report: OpenReport | None = None
        self._opening: Worker | None = None
        self._empty_root: Path | None = None  # an opened folder with no images (and no store)
        self._scan: Worker | None = None

        self.grid_model = GridModel(context, self)
        self.filter_bar = FilterBar(context, self)
        self.filter_bar.setObjectName("filterBar")
        self.batch_bar = BatchBar(context, self)
        self.grid = GridView(context, self.grid_model, self)
        self.welcome = WelcomePage(context, self)
        self.welcome.openRequested.connect(self.choose_folder)
        self.welcome.folderChosen.connect(self.open_folder)
        self.tag_panel = TagPanel(context, self)

        grid_page = QWidget(self)
        grid_layout = QVBoxLayout(grid_page)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.setSpacing(0)
        # Where the labels are kept when not in the folder itself, and why (ADR 0010).
        self.store_banner = QLabel(grid_page)
        self.store_banner.setObjectName("storeBanner")
        self.store_banner.setWordWrap(True)
        self.store_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.store_banner.setContentsMargins(10, 6, 10, 6)
        self.store_banner.setStyleSheet("QLabel#storeBanner { background: rgba(230, 170, 40, 60); }")
        self.store_banner.hide()
        self.empty_label = QLabel(grid_page)
        self.empty_label.setObjectName("emptyText")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty_label.setContentsMargins(40, 40, 40, 40)
        self.empty_label.hide()
        grid_layout.addWidget(self.store_banner)
        grid_layout.addWidget(self.filter_bar)
        grid_layout.addWidget(self.batch_bar)
        grid_layout.addWidget(self.grid, 1)
        grid_layout.addWidget(self.empty_label, 1)
        self.stack = PageStack(self)
        self.stack.currentChanged.connect(lambda _i: self.stack.updateGeometry())
        self.stack.addWidget(self.welcome)
        self.setCentralWidget(self.stack)
        self.add_page("grid", grid_page)

        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        self._install_panels()
        self._build_toolbar()

        context.statusMessage.connect(self._show_message)
        context.historyChanged.connect(self._update_history_actions)
        context.collectionOpened.connect(self._on_collection_opened)
        context.collectionClosed.connect(self._on_collection_closed)
        context.indexChanged.connect(self._update_counts)
        context.filterChanged.connect(lambda _f: QTimer.singleShot(0, self._update_counts))
        context.selectionChanged.connect(lambda _ids: self._update_selection_actions())
        # After the grid (connected first) kept the selection that is still shown.
        self.grid_model.modelReset.connect(self._current_follows_filter)
        context.settings.changed.connect(self._on_setting_changed)
        self._update_history_actions()
        self._update_selection_actions()
        self._show_welcome()
        self._fit_to_screen(context.settings.qsettings.value("window/geometry"))
        state = context.settings.qsettings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        else:
            QTimer.singleShot(0, self._default_dock_sizes)

    # ---- extension points -----------------------------------------------------

    def add_page(self, name: str, widget: QWidget) -> None:
        """Add a central page (grid, review, train, ...) shown by `show_view(name)`."""
        self.pages[name] = widget
        self.stack.addWidget(widget)

    def add_dock(
        self,
        name: str,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
        shortcut: str | None = None,
    ) -> QDockWidget:
        """Add a dock panel with a View-menu toggle (and an optional shortcut)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        toggle = dock.toggleViewAction()
        toggle.setText(f"{title} panel")
        if shortcut:
            toggle.setShortcut(QKeySequence(shortcut))
        toggle.setToolTip(f"Show or hide the {title.lower()} panel")
        toggle.setStatusTip(f"Show or hide the {title.lower()} panel")
        self.actions_.adopt(f"view.dock.{name}", toggle, group="View")
        self.menus["view"].addAction(toggle)
        self.docks[name] = dock
        return dock

    def show_view(self, name: str) -> bool:
        """Bring a central page to front; the grid only once a folder is open."""
        page = self.pages.get(name)
        if page is None:
            return False
        if self.context.store is None and self._empty_root is None and name == "grid":
            self._show_welcome()
            return True
        self.stack.setCurrentWidget(page)
        return True

    def current_view(self) -> str:
        current = self.stack.currentWidget()
        for name, page in self.pages.items():
            if page is current:
                return name
        return "welcome"

    def _install_panels(self) -> None:
        """Install the panels: docks via `add_dock`, central pages via `add_page`,
        their actions via `self.actions_.add(...)` into `self.menus[...]`.

        Extension point for the other panels (inspector, review mode, train
        panel, models list, export / settings / help dialogs): their authors
        add what they need HERE ONLY, as small additive edits, e.g.
            self.inspector = Inspector(self.context, self)
            self.add_dock("inspector", "Inspector", self.inspector, shortcut="Ctrl+I")
            self.add_page("review", ReviewPage(self.context, self))
        Menus available: self.menus["file" | "edit" | "view" | "tags" | "model" | "help"].
        The grid's double-click/Enter is `self.grid.imageActivated(image_id)`.
        """
        self.add_dock("tags", "Tags", self.tag_panel, Qt.DockWidgetArea.LeftDockWidgetArea, shortcut="Ctrl+Shift+1")
        for action_id, action in (
            ("tags.rename", self.tag_panel.rename_action),
            ("tags.merge", self.tag_panel.merge_action),
            ("tags.delete", self.tag_panel.delete_action),
        ):
            self.actions_.adopt(action_id, action, group="Tags")
            self.menus["tags"].addAction(action)
        from clml_desktop.ui.panel_installer import install_panels

        install_panels(self)

    # ---- construction ---------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(True)
        self.jobs_widget = JobStatusWidget(self.context.jobs, self)
        self.selection_label = QLabel(self)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("filterCount")
        self.count_label.setToolTip("Images the filter shows, of all images in the folder")
        bar.addPermanentWidget(self.jobs_widget)
        bar.addPermanentWidget(self.selection_label)
        bar.addPermanentWidget(self.count_label)

    def _build_actions(self) -> None:
        a = self.actions_.add
        a("file.open", "&Open Folder…", group="File", tooltip="Open a folder of images", shortcut=QKeySequence.StandardKey.Open, slot=self.choose_folder)
        a("file.rescan", "&Rescan Folder", group="File", tooltip="Look for new, changed and removed images and tag files", shortcut="F5", slot=self.rescan)
        a("file.close", "&Close Folder", group="File", tooltip="Close the open collection", shortcut="Ctrl+W", slot=self.close_folder)
        a("file.quit", "&Quit", group="File", tooltip="Quit CLML Desktop", shortcut="Ctrl+Q", slot=self.close)
        a("edit.undo", "&Undo", group="Edit", tooltip="Undo the last edit (a batch edit is one step)", shortcut="Ctrl+Z", slot=self.context.undo)
        a("edit.redo", "&Redo", group="Edit", tooltip="Redo the last undone edit", shortcut=["Ctrl+Shift+Z", "Ctrl+Y"], slot=self.context.redo)
        a("edit.select_all", "Select &All", group="Edit", tooltip="Select every image the filter shows", shortcut="Ctrl+A", slot=self.grid.selectAll, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.grid.addAction(self.actions_.action("edit.select_all"))
        a("edit.select_none", "Select &None", group="Edit", tooltip="Clear the selection", shortcut="Ctrl+Shift+A", slot=self.grid.clearSelection)
        a("edit.batch_tag", "&Tag Selected Images…", group="Edit", tooltip="Type a tag for all selected images", shortcut="Ctrl+T", slot=self.batch_bar.focus_tag)
        a("view.filter_tags", "Filter by &Tag", group="View", tooltip="Type tags to filter the grid (AND: ',', OR: '|', NOT: '-')", shortcut="Ctrl+F", slot=self.filter_bar.focus_tags)
        a("view.filter_name", "Filter by File &Name", group="View", tooltip="Type part of a file name", shortcut="Ctrl+Shift+N", slot=lambda: self.filter_bar.name_edit.setFocus())
        a("view.filter_clear", "&Clear Filter", group="View", tooltip="Show all images", shortcut="Ctrl+Shift+F", slot=self.filter_bar.clear)
        a("view.filter_untagged", "Show &Untagged", group="View", tooltip="Show images without any tag", shortcut="Ctrl+Shift+U", slot=self.filter_bar.untagged_box.toggle)
        a("view.filter_suggested", "Show Images with &Suggestions", group="View", tooltip="Show images with pending suggestions", shortcut="Ctrl+Shift+G", slot=self.filter_bar.suggested_box.toggle)
        a("view.filter_problems", "Show &Problem Images", group="View", tooltip="Show images that could not be read", shortcut="Ctrl+Shift+P", slot=self.filter_bar.problems_box.toggle)
        a("view.zoom_in", "&Bigger Thumbnails", group="View", tooltip="Larger grid cells", shortcut=["Ctrl++", "Ctrl+="], slot=lambda: self.step_thumb_size(+1))
        a("view.zoom_out", "&Smaller Thumbnails", group="View", tooltip="Smaller grid cells", shortcut="Ctrl+-", slot=lambda: self.step_thumb_size(-1))
        a("view.grid", "&Grid", group="View", tooltip="Show the thumbnail grid", shortcut="Ctrl+1", slot=lambda: self.show_view("grid"))
        a("view.focus_grid", "Focus &Grid", group="View", tooltip="Move keyboard focus to the grid", shortcut="Ctrl+G", slot=lambda: self.grid.setFocus())
        self.similar_finder = SimilarFinder(self.context, self)
        self.similar_finder.bind(a("view.find_similar", "Find Si&milar Images", group="View", tooltip="Show the images that look most like the selected one, most similar first", shortcut=FIND_SIMILAR_KEY, slot=self.similar_finder.find))
        self.grid.set_context_actions([self.actions_.action("view.find_similar"), None, self.actions_.action("edit.batch_tag"), self.actions_.action("edit.select_all")])
        for theme in ("system", "light", "dark"):
            action = a(f"view.theme.{theme}", f"{theme.capitalize()} Theme", group="View", tooltip=f"Use the {theme} colour scheme" if theme != "system" else "Follow the desktop's light/dark setting", checkable=True, slot=lambda t=theme: self._set_theme(t))
            action.setChecked(self.context.settings.theme == theme)
        # One registered action per recent slot, so Ctrl+Alt+N works before the menu was
        # ever opened and the help lists exactly the slots that exist.
        for i in range(1, MAX_RECENT + 1):
            a(f"file.recent.{i}", f"Recent Folder {i}", group="File", tooltip=f"Open recent folder number {i}",
              shortcut=f"Ctrl+Alt+{i}" if i < 10 else None, slot=lambda n=i: self._open_recent(n))
        a("file.recent.clear", "Clear Recent Folders", group="File", tooltip="Forget the list of recent folders",
          slot=self.context.settings.clear_recent_folders)
        self._update_recent_actions()
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        act = self.actions_.action
        file_menu = self.menus["file"] = bar.addMenu("&File")
        file_menu.addAction(act("file.open"))
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(act("file.rescan"))
        file_menu.addSeparator()
        file_menu.addAction(act("file.close"))
        file_menu.addAction(act("file.quit"))
        edit = self.menus["edit"] = bar.addMenu("&Edit")
        for name in ("edit.undo", "edit.redo", None, "edit.select_all", "edit.select_none", None, "edit.batch_tag"):
            edit.addSeparator() if name is None else edit.addAction(act(name))
        view = self.menus["view"] = bar.addMenu("&View")
        for name in ("view.grid", "view.focus_grid", None, "view.filter_tags", "view.filter_name", "view.filter_untagged",
                     "view.filter_suggested", "view.filter_problems", "view.filter_clear", "view.find_similar", None, "view.zoom_in", "view.zoom_out"):
            view.addSeparator() if name is None else view.addAction(act(name))
        theme_menu = view.addMenu("&Theme")
        for theme in ("system", "light", "dark"):
            theme_menu.addAction(act(f"view.theme.{theme}"))
        view.addSeparator()
        self.menus["tags"] = bar.addMenu("&Tags")
        self.menus["model"] = bar.addMenu("&Model")
        self.menus["help"] = bar.addMenu("&Help")

    def _build_toolbar(self) -> None:
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for name in ("file.open", "file.rescan", None, "edit.undo", "edit.redo"):
            toolbar.addSeparator() if name is None else toolbar.addAction(self.actions_.action(name))
        for name in ("view.grid", "view.review", "view.train", "model.train", "file.export"):
            if name in self.actions_:
                toolbar.addAction(self.actions_.action(name))
        self.toolbar = toolbar
        toggle = toolbar.toggleViewAction()
        toggle.setText("&Toolbar")
        toggle.setToolTip("Show or hide the toolbar")
        toggle.setStatusTip("Show or hide the toolbar")
        self.actions_.adopt("view.toolbar", toggle, group="View")
        self.menus["view"].addAction(toggle)

    # ---- opening folders ------------------------------------------------------

    def choose_folder(self) -> None:
        start = self.context.settings.recent_folders[0] if self.context.settings.recent_folders else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path) -> bool:
        """Open `folder` in the background (even the folder check: a stale network
        mount must not freeze the window). The open collection stays until the new
        one is ready; failures arrive as `openFailed(message)`."""
        path = Path(folder).expanduser()
        worker = Worker(prepare_store, path, name=f"Opening {path.name or path}")
        worker.signals.result.connect(lambda root: self._on_store_ready(worker, root))
        worker.signals.error.connect(lambda msg: self._on_open_failed(worker, str(folder), msg))
        self._opening = worker
        self.context.start_job(worker)
        self._show_message(f"Opening {path}…")
        return True

    def _on_open_failed(self, worker: Worker, folder: str, message: str) -> None:
        if worker is not self._opening:
            return
        from clml_desktop.ui.damaged_store_dialog import offer_repair

        if offer_repair(self, worker.exception) is not None:
            return  # a damaged store: the repair dialog takes over (ADR 0021)
        self.context.settings.remove_recent_folder(folder)
        text = f"Could not open {folder}: {message.split(': ', 1)[-1]}"
        self._show_message(text)
        self.openFailed.emit(text)

    def _on_store_ready(self, worker: Worker, root: Path | EmptyFolder) -> None:
        if worker is not self._opening:
            return  # a newer open request won
        if isinstance(root, EmptyFolder):
            self._show_empty_folder(root)
            return
        from clml_desktop.collection.store import CollectionStore

        try:
            store = CollectionStore.open(root)
        except Exception as exc:
            self._on_open_failed(worker, str(root), str(exc))
            return
        if self.thumbnails is not None:
            self.thumbnails.close()
        self.context.set_store(store)
        if store.fallback_reason:
            self._show_message(f"Keeping this collection's data outside the folder: {store.fallback_reason}")
        self.rescan()

    def _show_empty_folder(self, empty: EmptyFolder) -> None:
        """A folder with no images: say so in the grid area, store nothing (Rescan looks again)."""
        self.close_folder()
        self._empty_root = empty.root
        self.context.settings.add_recent_folder(empty.root)
        self.setWindowTitle(f"{empty.root.name or empty.root} — {APP_TITLE}")
        self._update_page_state()
        self._update_history_actions()
        self._update_selection_actions()
        self.stack.setCurrentWidget(self.pages["grid"])
        self._show_message(f"No images in {empty.root}")
        self.folderOpened.emit(str(empty.root))

    def _update_page_state(self) -> None:
        """The grid page shows the grid, or the empty-folder message; and the banner
        saying where the labels are kept when that is not the folder itself."""
        store = self.context.store
        report = self.last_report
        empty_root = self._empty_root
        if store is not None and report is not None and not report.cancelled and report.images == 0:
            empty_root = Path(store.root)
        if empty_root is not None:
            self.empty_label.setText(empty_folder_message(empty_root)
                                     + "\n\nAdd images there, then press Rescan (F5).")
        self.empty_label.setVisible(empty_root is not None)
        for widget in (self.grid, self.filter_bar):
            widget.setVisible(empty_root is None)
        self.batch_bar.setVisible(store is not None and empty_root is None)
        reason = None
        if store is not None:
            if store.read_only_reason:
                reason = f"Read-only: {store.read_only_reason}."
            elif store.fallback_reason:
                reason = f"Labels kept outside this folder, for you only: {store.fallback_reason}."
        self.store_banner.setText(reason or "")
        self.store_banner.setToolTip(reason or "")
        self.store_banner.setVisible(reason is not None)

    def rescan(self) -> None:
        """Scan the open folder for changes and import tag files, in the background."""
        store = self.context.store
        if store is None and self._empty_root is not None:
            self.open_folder(self._empty_root)  # look again: an image may have appeared
            return
        if store is None or (self._scan is not None and not self._scan.is_done):
            return
        worker = Worker(scan_and_import, Path(store.root), name="Scanning")
        worker.signals.result.connect(self._on_scanned)
        worker.signals.error.connect(lambda msg: self._show_message(f"Scan failed: {msg}"))
        self._scan = worker
        self.context.start_job(worker)

    def _on_scanned(self, report: OpenReport) -> None:
        self.last_report = report
        self._update_page_state()
        self.context.refresh_index(immediately=True)
        self._show_message(report.summary())
        if self.context.store is not None:
            cache_dir = Path(self.context.store.data_dir) / "thumbs"
            self.context.start_job(Worker(lambda _control: prune_disk_cache(cache_dir), name="Tidying thumbnails"), quiet=True)
            self.folderOpened.emit(str(self.context.store.root))
        self.scanFinished.emit(report)

    def close_folder(self) -> None:
        if self._empty_root is not None:
            self._empty_root = None
            self._update_page_state()
            self._update_history_actions()
            self._on_collection_closed()
        if self.thumbnails is not None:
            self.thumbnails.close()
            self.grid_model.set_thumbnails(None)
            self.thumbnails = None
        self.context.close_store()

    def _on_collection_opened(self, store: object) -> None:
        self._empty_root = None
        self.last_report = None
        self._update_page_state()
        self._make_thumbnails()
        self.setWindowTitle(f"{Path(self.context.store.root).name} — {APP_TITLE}")
        self.show_view("grid")
        self.grid.setFocus()

    def _on_collection_closed(self) -> None:
        self.last_report = None
        self._update_page_state()
        self.setWindowTitle(APP_TITLE)
        self._show_welcome()

    def _make_thumbnails(self) -> None:
        store = self.context.store
        if self.thumbnails is not None:
            self.thumbnails.close()
        if store is None:
            self.thumbnails = None
        else:
            # Leave a core for the GUI thread: decoders compete with it for the GIL.
            workers = max(1, min(3, QThread.idealThreadCount() - 1))
            self.thumbnails = ThumbnailCache(
                self.context.jobs,
                Path(store.root),
                Path(store.data_dir) / "thumbs",
                self.grid.thumb_size,
                workers=workers,
                parent=self,
            )
        self.grid_model.set_thumbnails(self.thumbnails)

    def _show_welcome(self) -> None:
        self.welcome.refresh()
        self.stack.setCurrentWidget(self.welcome)

    def _available(self) -> QRect:
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry() if screen is not None else QRect(0, 0, *DEFAULT_SIZE)

    def _fit_to_screen(self, saved: object) -> None:
        """Open at the saved geometry when it fits this screen, else at the default size
        shrunk to the screen's available area (less the window frame), centred on it."""
        available = self._available()
        if isinstance(saved, QByteArray) and self.restoreGeometry(saved):
            frame = self.geometry().adjusted(0, 0, *FRAME_ALLOWANCE)
            if available.contains(frame) or (self.isMaximized() or self.isFullScreen()):
                return
            self.setWindowState(Qt.WindowState.WindowNoState)
        width = min(DEFAULT_SIZE[0], available.width() - FRAME_ALLOWANCE[0])
        height = min(DEFAULT_SIZE[1], available.height() - FRAME_ALLOWANCE[1])
        self.resize(max(width, 1), max(height, 1))
        rect = QRect(0, 0, self.width(), self.height())
        rect.moveCenter(available.center())
        self.move(max(available.left(), rect.left()), max(available.top(), rect.top()))

    def _default_dock_sizes(self) -> None:
        """First run: give the tag list room for names beside its three counts, and the
        inspector enough for its chips, leaving the centre most of a 1440 px screen."""
        wanted = {"tags": 330, "inspector": 370}
        docks = [self.docks[name] for name in wanted if name in self.docks]
        # On a smaller screen the docks share what the centre's minimum leaves, in proportion.
        room = self.width() - self.centralWidget().minimumSizeHint().width() - 24
        total = sum(wanted[d.objectName().removeprefix("dock_")] for d in docks)
        if docks and 0 < room < total:
            wanted = {name: int(width * room / total) for name, width in wanted.items()}
        if docks:
            self.resizeDocks(docks, [wanted[d.objectName().removeprefix("dock_")] for d in docks],
                             Qt.Orientation.Horizontal)

    def _current_follows_filter(self) -> None:
        """A filter that hides the current image leaves nothing current, so the inspector
        shows nothing rather than an image the grid no longer shows (an edit typed there
        would land on an image the person cannot see). Not the first visible image
        instead: that would be an image nobody chose, and the next Enter would tag it.
        Only while the grid is the page shown: review chooses its own current image."""
        if self.current_view() != "grid":
            return
        current = self.context.current_image_id
        if current >= 0 and self.grid_model.row_of(current) is None:
            self.context.set_current_image(-1)

    def is_busy(self) -> bool:
        """Whether any background work is still running or queued (scripts, tests)."""
        if self.context.jobs.running() or self.context.pool.activeThreadCount():
            return True
        if self.context.index_pending():
            return True
        return self.thumbnails is not None and self.thumbnails.pending() > 0

    # ---- small behaviours -----------------------------------------------------

    def step_thumb_size(self, step: int) -> None:
        sizes = list(THUMB_SIZES)
        current = self.grid.thumb_size
        pos = min(range(len(sizes)), key=lambda i: abs(sizes[i] - current))
        new = sizes[max(0, min(len(sizes) - 1, pos + step))]
        if new != current:
            self.context.settings.thumbnail_size = new

    def _on_setting_changed(self, key: str) -> None:
        if key == "recent_folders":
            self._update_recent_actions()
        elif key == "grid/thumbnail_size":
            self.grid.set_thumb_size(self.context.settings.thumbnail_size)
            self._make_thumbnails()
        elif key == "theme":
            from PySide6.QtWidgets import QApplication

            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, self.context.settings.theme)
            for theme in ("system", "light", "dark"):
                self.actions_.action(f"view.theme.{theme}").setChecked(self.context.settings.theme == theme)

    def _set_theme(self, theme: str) -> None:
        self.context.settings.theme = theme

    def _update_recent_actions(self) -> None:
        """Name the recent-folder actions after their folders; hide the empty slots."""
        folders = self.context.settings.recent_folders
        for i in range(1, MAX_RECENT + 1):
            action = self.actions_.action(f"file.recent.{i}")
            folder = folders[i - 1] if i <= len(folders) else None
            action.setVisible(folder is not None)
            shown = str(folder).replace("&", "&&")  # a literal '&', not a mnemonic marker
            action.setText(f"&{i % 10}  {shown}" if folder is not None else f"Recent Folder {i}")
            action.setStatusTip(f"Open {folder}" if folder is not None else f"Open recent folder number {i}")
        self.actions_.action("file.recent.clear").setVisible(bool(folders))

    def _open_recent(self, number: int) -> None:
        folders = self.context.settings.recent_folders
        if number <= len(folders):
            self.open_folder(folders[number - 1])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        folders = self.context.settings.recent_folders
        for i in range(1, len(folders) + 1):
            self.recent_menu.addAction(self.actions_.action(f"file.recent.{i}"))
        if folders:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(self.actions_.action("file.recent.clear"))
        else:
            empty = self.recent_menu.addAction("No recent folders")
            empty.setEnabled(False)
            empty.setToolTip("Folders you open are listed here")
            empty.setStatusTip("Folders you open are listed here")

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _update_history_actions(self) -> None:
        self.actions_.action("edit.undo").setEnabled(self.context.can_undo())
        self.actions_.action("edit.redo").setEnabled(self.context.can_redo())
        has_store = self.context.store is not None or self._empty_root is not None
        for name in ("file.rescan", "file.close"):
            self.actions_.action(name).setEnabled(has_store)

    def _update_selection_actions(self) -> None:
        n = len(self.context.selected_ids)
        self.selection_label.setText(f"{n:,} selected" if n > 1 else "")
        self.batch_bar.setVisible(self.context.store is not None and not self.empty_label.isVisibleTo(self))

    def _update_counts(self) -> None:
        shown, total = self.grid_model.rowCount(), len(self.context.index)
        if self.context.store is None:
            text = ""
        elif shown == total:
            text = f"{total:,} images"
        else:
            text = f"{shown:,} of {total:,} images"
        self.count_label.setText(text)

    # ---- drag and drop, closing -------------------------------------------------

    @staticmethod
    def _dropped_folder(event: QDragEnterEvent | QDropEvent) -> Path | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                return path if path.is_dir() else path.parent
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_folder(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        folder = self._dropped_folder(event)
        if folder is not None:
            event.acceptProposedAction()
            self.open_folder(folder)

    def closeEvent(self, event: QCloseEvent) -> None:
        q = self.context.settings.qsettings
        q.setValue("window/geometry", self.saveGeometry())
        q.setValue("window/state", self.saveState())
        q.sync()
        if self.thumbnails is not None:
            self.thumbnails.close()
        self.context.shutdown()
        super().closeEvent(event)
