"""Start time and size: the standalone bundle beside the checkout (issue 15, ADR 0023).

    .venv/bin/python benchmarks/start_time.py [--bundle dist/clml-desktop] [--runs 5] [--make-run]

Prints one table: the bundle's size on disk beside the checkout's .venv, and the time from
starting the program to the main window's first paint, for the bundle's
`clml-desktop` and the checkout's `.venv/bin/clml-desktop`, on one small demo
collection (40 images, made once), offscreen, each program in its own fresh HOME.

The clock runs from just before `Popen` to the moment the app writes the file named
by CLML_EXIT_AFTER_FIRST_PAINT (clml_desktop/ui/first_paint.py: written at the
window's first Paint event, then the app quits), polled every 5 ms. "Cold" empties
the kernel's page cache before each of --cold-runs starts (as after a reboot; needs
root, else the row says n/a). "First launch" is each program's first start in this
run, with whatever the page cache held. "Warm" is the median of --runs later starts.
`--make-run` also times `make run` headless (no display: demo → train → suggest →
export, about 3 minutes on 2 cores).

Numbers only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLL_S = 0.005
TIMEOUT_S = 120.0


def tree_size(path: Path) -> int:
    """Bytes in the files under `path` (apparent sizes, each hard-linked file once, links not followed)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _dirnames, filenames in os.walk(path):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def fresh_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("CLML_EXIT_AFTER_FIRST_PAINT", "PYTHONPATH"):
        env.pop(name, None)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
        QT_QPA_PLATFORM="offscreen",
    )
    home.mkdir(parents=True, exist_ok=True)
    return env


def time_to_first_paint(program: Path, folder: Path, env: dict[str, str], marker: Path) -> float:
    """Seconds from starting `program FOLDER` to its first painted window."""
    marker.unlink(missing_ok=True)
    env = dict(env, CLML_EXIT_AFTER_FIRST_PAINT=str(marker))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(program), str(folder)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while not marker.exists():
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"{program} ended (exit {proc.returncode}) before painting:\n{err[-2000:]}")
            if time.perf_counter() - start > TIMEOUT_S:
                raise RuntimeError(f"{program}: no first paint within {TIMEOUT_S:.0f} s")
            time.sleep(POLL_S)
        elapsed = time.perf_counter() - start
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    return elapsed


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only), so the next start reads every file from
    disk as after a reboot; False where we may not."""
    try:
        os.sync()
        DROP_CACHES.write_text("3\n")
        return True
    except OSError:
        return False


def measure(program: Path, folder: Path, home: Path, runs: int, cold_runs: int) -> dict[str, object]:
    env = fresh_env(home)
    marker = home / "first-paint"
    first = time_to_first_paint(program, folder, env, marker)
    warm = [time_to_first_paint(program, folder, env, marker) for _ in range(runs)]
    cold: list[float] = []
    for _ in range(cold_runs):
        if not drop_page_cache():
            break
        cold.append(time_to_first_paint(program, folder, env, marker))
    return {"first": first, "warm": warm, "cold": cold}


def time_make_run(home: Path) -> str:
    """`make run` without a display (the headless main job), in a fresh HOME: its seconds,
    or why it failed (the table still prints)."""
    env = fresh_env(home)
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    start = time.perf_counter()
    done = subprocess.run(["make", "-C", str(ROOT), "run"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        print(f"make run failed (exit {done.returncode}):\n{done.stderr[-1500:]}", file=sys.stderr)
        return f"failed after {elapsed:.1f} s (exit {done.returncode})"
    return f"{elapsed:.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "clml-desktop",
                        help="the one-folder bundle (default: dist/clml-desktop, from `make package`)")
    parser.add_argument("--checkout", type=Path, default=ROOT / ".venv" / "bin" / "clml-desktop",
                        help="the checkout's program (default: .venv/bin/clml-desktop)")
    parser.add_argument("--runs", type=int, default=5, help="warm launches per program (default 5)")
    parser.add_argument("--make-run", action="store_true", help="also time `make run` headless (~3 min)")
    parser.add_argument("--cold-runs", type=int, default=3,
                        help="launches after emptying the page cache (needs root; default 3)")
    args = parser.parse_args(argv)

    bundle_bin = args.bundle / "clml-desktop"
    if not bundle_bin.exists():
        print(f"no bundle at {args.bundle}: run `make package` first", file=sys.stderr)
        return 1
    venv = args.checkout.resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="clml-start-") as tmp:
        work = Path(tmp)
        demo = work / "demo"
        subprocess.run([str(args.checkout), "demo", str(demo), "--images", "40", "--no-gui"],
                       env=fresh_env(work / "home-demo"), check=True, stdout=subprocess.DEVNULL)
        results = {
            "bundle": measure(bundle_bin, demo, work / "home-bundle", args.runs, args.cold_runs),
            "checkout": measure(args.checkout, demo, work / "home-checkout", args.runs, args.cold_runs),
        }
        make_run = time_make_run(work / "home-make-run") if args.make_run else None

    def cell(seconds: list[float]) -> str:
        if not seconds:
            return "n/a (emptying the page cache needs root)"
        med = statistics.median(seconds)
        return f"{med:.2f} s ({min(seconds):.2f}-{max(seconds):.2f})"

    rows = [
        ("program", str(bundle_bin), str(args.checkout)),
        ("size on disk (MiB)",
         f"{tree_size(args.bundle) / 2**20:,.0f} (the whole bundle)",
         f"{tree_size(venv) / 2**20:,.0f} (the whole .venv, torch included)"),
        (f"first paint, cold (page cache emptied), median of {args.cold_runs} (min-max)",
         cell(results["bundle"]["cold"]), cell(results["checkout"]["cold"])),
        ("first paint, first launch in this run",
         f"{results['bundle']['first']:.2f} s", f"{results['checkout']['first']:.2f} s"),
        (f"first paint, warm, median of {args.runs} (min-max)",
         cell(results["bundle"]["warm"]), cell(results["checkout"]["warm"])),
    ]
    if make_run is not None:
        rows.append(("`make run` headless (demo, train, suggest, export)", "-", make_run))
    widths = [max(len(row[i]) for row in rows + [("", "bundle", "checkout")]) for i in range(3)]
    print(f"{'':<{widths[0]}}  {'bundle':<{widths[1]}}  checkout")
    for row in rows:
        print("  ".join(f"{text:<{widths[i]}}" for i, text in enumerate(row)).rstrip())
    print(f"(demo collection of 40 images, QT_QPA_PLATFORM=offscreen, {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
