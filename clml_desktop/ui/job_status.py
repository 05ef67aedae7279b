"""Status-bar widget listing running background jobs with progress and cancel.

It reads the `JobTracker` only (no state of its own beyond what it shows):
the newest job is shown with its text and a progress bar; when several run,
the label says how many, and the cancel button stops them all.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from clml_desktop.jobs.tracker import JobTracker


class JobStatusWidget(QWidget):
    """Shows the running jobs of a tracker; hidden when nothing runs."""

    def __init__(self, tracker: JobTracker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tracker = tracker
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(160)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the running background jobs")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.clicked.connect(self._cancel)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignVCenter)
        tracker.jobsChanged.connect(self._refresh)
        tracker.jobProgress.connect(lambda *_: self._refresh())
        self._refresh()

    def _cancel(self) -> None:
        for worker in self._tracker.running():
            worker.cancel()
        self.label.setText("Cancelling…")

    def _refresh(self) -> None:
        running = self._tracker.running()
        self.setVisible(bool(running))
        if not running:
            return
        worker = running[-1]
        done, total, text = self._tracker.progress_of(worker)
        more = f" (+{len(running) - 1} more)" if len(running) > 1 else ""
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
            self.label.setText(f"{text} {done:,}/{total:,}{more}")
        else:
            self.bar.setRange(0, 0)
            self.label.setText(f"{text}{more}")
