#!/usr/bin/env bash
# Installs (or uninstalls) CLML Desktop's desktop entry, AppStream metainfo and
# icons into the user's XDG data folder, so the app shows in menus and in a
# file manager's "Open With" for folders.
#
#   clml-desktop install-desktop [--remove]   # what people run (any install, the bundle)
#   make install-desktop / uninstall-desktop  # the same from a checkout
#   bash install-desktop.sh install|uninstall # what both run
#
# It ships inside the package (clml_desktop/desktop_integration/) so an
# installed app or the bundle can put its own entry in the menu, with no
# checkout. XDG_DATA_HOME (default ~/.local/share) picks the folder.
# CLML_DESKTOP_BIN picks the program the entry starts (the CLI command passes
# itself); without it, a checkout's .venv/bin/clml-desktop, else the
# clml-desktop on PATH. Its absolute path is written into the installed entry's
# Exec and TryExec.
#
# Install writes a manifest of every file it put there; uninstall removes
# exactly those files and the folders it had to create (when they are empty
# again), nothing else. The caches beside them (applications/mimeinfo.cache,
# icons/hicolor/icon-theme.cache) are refreshed with update-desktop-database and
# gtk-update-icon-cache only where such a cache already exists: current desktops
# read the entries and icons without them, and a cache this script created would
# outlive the uninstall or go stale once another app adds files without
# refreshing it. Either tool is skipped when it is absent.
set -euo pipefail

APP_ID=io.github.clml_desktop.CLMLDesktop
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")  # the checkout, when run from one
SVG=$(dirname "$HERE")/ui/resources/$APP_ID.svg  # the window's own icon, one file for both
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
MANIFEST=$DATA/clml-desktop/desktop-integration.manifest

# The absolute path of the program the entry starts.
find_program() {
  local bin=${CLML_DESKTOP_BIN:-}
  if [ -z "$bin" ]; then
    if [ -x "$ROOT/.venv/bin/clml-desktop" ]; then
      bin=$ROOT/.venv/bin/clml-desktop
    else
      bin=$(command -v clml-desktop || true)
    fi
  fi
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "install-desktop: no clml-desktop program found; run 'make setup' or set CLML_DESKTOP_BIN" >&2
    return 1
  fi
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  case $bin in
    *[\"\`\$\\%]*)
      echo "install-desktop: the path $bin holds a character a desktop entry cannot carry safely (\" \` \$ \\ %)" >&2
      return 1 ;;
  esac
  printf '%s\n' "$bin"
}

# The path as a desktop entry's Exec argument: quoted when it holds a space.
exec_arg() {
  case $1 in
    *[[:space:]]*) printf '"%s"' "$1" ;;
    *) printf '%s' "$1" ;;
  esac
}

refresh_caches() {
  if [ -f "$DATA/applications/mimeinfo.cache" ] && command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$DATA/applications" || true
  fi
  local icons=$DATA/icons/hicolor
  if [ -f "$icons/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -f -t "$icons" || true
  fi
}

# Creates folder $1 and its missing parents under $DATA, recording each one it
# creates in the manifest (with a trailing /), outermost first.
make_dir() {
  local dir=$1 missing=()
  while [ "$dir" != "$DATA" ] && [ ! -d "$dir" ]; do
    missing=("$dir" "${missing[@]}")
    dir=$(dirname "$dir")
  done
  for dir in "${missing[@]}"; do
    mkdir -- "$dir"
    printf '%s/\n' "$dir" >>"$MANIFEST.new"
  done
}

# Copies $1 to $2 and records $2 in the manifest.
put() {
  make_dir "$(dirname "$2")"
  install -m 0644 "$1" "$2"
  printf '%s\n' "$2" >>"$MANIFEST.new"
}

do_install() {
  local bin arg size png entry
  bin=$(find_program)
  arg=$(exec_arg "$bin")
  [ -f "$MANIFEST" ] && do_uninstall --quiet
  mkdir -p "$DATA"
  # The manifest's own folder is listed first, so uninstall removes it last.
  if [ -d "$(dirname "$MANIFEST")" ]; then
    : >"$MANIFEST.new"
  else
    mkdir -- "$(dirname "$MANIFEST")"
    printf '%s/\n' "$(dirname "$MANIFEST")" >"$MANIFEST.new"
  fi
  entry=$DATA/applications/$APP_ID.desktop
  make_dir "$DATA/applications"
  sed -e "s|^Exec=clml-desktop\\b|Exec=$arg|" -e "s|^TryExec=.*|TryExec=$bin|" \
    "$HERE/$APP_ID.desktop" >"$entry.tmp"
  chmod 0644 "$entry.tmp"
  mv "$entry.tmp" "$entry"
  printf '%s\n' "$entry" >>"$MANIFEST.new"
  put "$HERE/$APP_ID.metainfo.xml" "$DATA/metainfo/$APP_ID.metainfo.xml"
  put "$SVG" "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
  for png in "$HERE"/icons/hicolor/*/apps/"$APP_ID".png; do
    size=$(basename "$(dirname "$(dirname "$png")")")
    put "$png" "$DATA/icons/hicolor/$size/apps/$APP_ID.png"
  done
  mv "$MANIFEST.new" "$MANIFEST"
  refresh_caches
  echo "install-desktop: installed $(grep -vc /\$ "$MANIFEST") files under $DATA (Exec=$arg)"
}

do_uninstall() {
  local file n=0 dirs=() i
  if [ ! -f "$MANIFEST" ]; then
    [ "${1:-}" = --quiet ] || echo "uninstall-desktop: nothing installed under $DATA (no $MANIFEST)"
    return 0
  fi
  while IFS= read -r file; do
    case $file in
      "$DATA"/*/) dirs+=("$file") ;;
      "$DATA"/*) rm -f -- "$file"; n=$((n + 1)) ;;
      *) echo "uninstall-desktop: skipping $file, which is outside $DATA" >&2 ;;
    esac
  done <"$MANIFEST"
  rm -f -- "$MANIFEST"
  # Folders it created, innermost first, and only when nothing else is in them.
  for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
    rmdir -- "${dirs[i]}" 2>/dev/null || true
  done
  [ "${1:-}" = --quiet ] && return 0
  refresh_caches
  echo "uninstall-desktop: removed $n files from $DATA"
}

case ${1:-} in
  install) do_install ;;
  uninstall) do_uninstall ;;
  *) echo "usage: $0 install|uninstall" >&2; exit 2 ;;
esac
