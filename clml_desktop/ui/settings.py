"""User preferences persisted with QSettings, as typed properties.

Why a wrapper: widgets then read `settings.thumbnail_size` (an int, with its
default and bounds in one place) instead of spreading string keys and
`type=` conversions through the code. Tests pass their own QSettings (an INI
file in a temp dir) so they never touch the user's preferences.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from clml_desktop.collection.exporting import XMP_NAMINGS

MAX_RECENT = 10
DEVICES = ("auto", "cuda", "cpu")
THEMES = ("system", "light", "dark")
THUMB_SIZES = (96, 128, 160, 192, 256)
RETIRED_KEYS = ("global_threshold",)


class Settings(QObject):
    """Typed, persisted preferences; `changed(key)` fires after each write."""

    changed = Signal(str)

    def __init__(self, qsettings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._q = qsettings if qsettings is not None else QSettings("clml-desktop", "CLML Desktop")
        self._drop_retired_keys()

    def _drop_retired_keys(self) -> None:
        """Forget preferences that moved elsewhere. `global_threshold` (one cut for every
        tag, per user) became each collection's minimum likelihood (ADR 0017); it is not
        carried over, because one user value cannot say which collection it was meant for."""
        if any(self._q.contains(key) for key in RETIRED_KEYS):
            for key in RETIRED_KEYS:
                self._q.remove(key)
            self._q.sync()

    @property
    def qsettings(self) -> QSettings:
        """The backing store, for widgets that save geometry/state blobs."""
        return self._q

    def _get_str(self, key: str, default: str, allowed: tuple[str, ...] | None = None) -> str:
        value = self._q.value(key, default)
        value = str(value) if value is not None else default
        if allowed is not None and value not in allowed:
            return default
        return value

    def _get_float(self, key: str, default: float, lo: float, hi: float) -> float:
        try:
            value = float(self._q.value(key, default))
        except (TypeError, ValueError):
            return default
        return min(hi, max(lo, value))

    def _get_int(self, key: str, default: int, lo: int, hi: int) -> int:
        try:
            value = int(self._q.value(key, default))
        except (TypeError, ValueError):
            return default
        return min(hi, max(lo, value))

    def _set(self, key: str, value: object) -> None:
        self._q.setValue(key, value)
        self._q.sync()
        self.changed.emit(key)

    @property
    def device(self) -> str:
        """Inference/training device: auto (CUDA when it really loads), cuda or cpu."""
        return self._get_str("device", "auto", DEVICES)

    @device.setter
    def device(self, value: str) -> None:
        if value not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, not {value!r}")
        self._set("device", value)

    @property
    def sidecar_extension(self) -> str:
        """Extension of tag sidecars written on export: `.txt` or `.caption`."""
        return self._get_str("sidecar/extension", ".txt", (".txt", ".caption"))

    @sidecar_extension.setter
    def sidecar_extension(self, value: str) -> None:
        if value not in (".txt", ".caption"):
            raise ValueError(f"sidecar extension must be .txt or .caption, not {value!r}")
        self._set("sidecar/extension", value)

    @property
    def sidecar_separator(self) -> str:
        """Separator written between tags in sidecars (read always splits on ',')."""
        value = self._q.value("sidecar/separator", ", ")
        return str(value) if value not in (None, "") else ", "

    @sidecar_separator.setter
    def sidecar_separator(self, value: str) -> None:
        if not value.strip(" "):
            raise ValueError("the separator must contain a visible character")
        self._set("sidecar/separator", value)

    @property
    def xmp_naming(self) -> str:
        """`name.ext.xmp` (digiKam, darktable) or `name.xmp` (Lightroom)."""
        return self._get_str("xmp/naming", XMP_NAMINGS[0], XMP_NAMINGS)

    @xmp_naming.setter
    def xmp_naming(self, value: str) -> None:
        if value not in XMP_NAMINGS:
            raise ValueError(f"XMP naming must be one of {XMP_NAMINGS}, not {value!r}")
        self._set("xmp/naming", value)

    @property
    def thumbnail_size(self) -> int:
        """Edge length in pixels of grid thumbnails."""
        return self._get_int("grid/thumbnail_size", 160, THUMB_SIZES[0], THUMB_SIZES[-1])

    @thumbnail_size.setter
    def thumbnail_size(self, value: int) -> None:
        self._set("grid/thumbnail_size", int(min(THUMB_SIZES[-1], max(THUMB_SIZES[0], value))))

    @property
    def theme(self) -> str:
        """`system` follows the desktop's colour scheme; `light`/`dark` force one."""
        return self._get_str("theme", "system", THEMES)

    @theme.setter
    def theme(self, value: str) -> None:
        if value not in THEMES:
            raise ValueError(f"theme must be one of {THEMES}, not {value!r}")
        self._set("theme", value)

    @property
    def reopen_last(self) -> bool:
        """Re-open the last folder at start-up (in the background, never blocking)."""
        value = self._q.value("reopen_last", True)
        return value in (True, "true", "1", 1)

    @reopen_last.setter
    def reopen_last(self, value: bool) -> None:
        self._set("reopen_last", bool(value))

    @property
    def recent_folders(self) -> list[str]:
        """Most recent first, at most MAX_RECENT, without duplicates."""
        value = self._q.value("recent_folders", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent_folder(self, folder: str | Path) -> None:
        text = str(Path(folder).resolve())
        items = [text] + [f for f in self.recent_folders if f != text]
        self._set("recent_folders", items[:MAX_RECENT])

    def remove_recent_folder(self, folder: str | Path) -> None:
        names = {str(folder), str(Path(folder).expanduser().resolve())}
        self._set("recent_folders", [f for f in self.recent_folders if f not in names])

    def clear_recent_folders(self) -> None:
        self._set("recent_folders", [])
