"""Write docs/cli.md, the command-line reference, from the argparse parsers themselves.

    .venv/bin/python scripts/cli_reference.py            # rewrite docs/cli.md
    .venv/bin/python scripts/cli_reference.py --check    # exit 1 when docs/cli.md is out of date
    .venv/bin/python scripts/cli_reference.py --stdout   # print it instead

It walks `clml-desktop`'s parsers (clml_desktop/app.py `build_parser`, and
clml_desktop/cli/open_gui.py for the plain `clml-desktop [FOLDER]`) and the
trainer's (training/cli.py `build_parser`). The trainer's parser is read in a
child process so that nothing here imports torch even if training/cli.py one
day does at module level. The text is built from each parser's actions rather
than from `format_help()`, so it does not depend on the terminal's width or on
argparse's layout in one Python version. tests/test_docs_cli_reference.py fails
when docs/cli.md differs from what this script writes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cli.md"
REGENERATE = ".venv/bin/python scripts/cli_reference.py"


# ---------------------------------------------------------------- parser -> plain data


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return action.metavar or action.dest
    return ", ".join(action.option_strings)


def _value(action: argparse.Action) -> str:
    """What follows the flag: CHOICE|CHOICE, METAVAR or DEST, with nargs applied."""
    if action.nargs == 0:
        return ""
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        base = "|".join(str(c) for c in action.choices)
    elif action.metavar is not None:
        base = action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
    elif action.option_strings:
        base = action.dest.upper()
    else:
        base = action.dest
    if action.nargs == "?":
        return f"[{base}]"
    if action.nargs == "*":
        return f"[{base} ...]"
    if action.nargs == "+":
        return f"{base} [{base} ...]"
    if isinstance(action.nargs, int) and action.nargs > 1:
        return " ".join([base] * action.nargs)
    return base


def _portable(text: str) -> str:
    """Per-user paths computed when the parser is built, written as on a default Linux setup."""
    try:
        import platformdirs

        data = str(Path(platformdirs.user_data_dir("clml-desktop")))
        text = text.replace(data, "~/.local/share/clml-desktop")
    except ImportError:
        pass
    return text.replace(str(Path.home()), "~")


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%" in text:  # argparse always %-formats help: "%%" is a literal "%"
        params = {**vars(action), "prog": prog}
        text = text % params
    return _portable(" ".join(text.split()))


def _plain(text: str | None) -> str:
    return _portable(" ".join((text or "").replace("%%", "%").split()))


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS) or action.required:
        return ""
    if isinstance(action.default, (list, tuple)) and not action.default:
        return ""
    return str(action.default)


def _group_of(parser: argparse.ArgumentParser) -> dict[int, list[argparse.Action]]:
    """Mutually exclusive groups, by the id of each member action."""
    groups: dict[int, list[argparse.Action]] = {}
    for group in parser._mutually_exclusive_groups:
        for action in group._group_actions:
            groups[id(action)] = group._group_actions
    return groups


def _usage(parser: argparse.ArgumentParser, prog: str) -> str:
    """A one-line synopsis; mutually exclusive options are shown as (a | b)."""
    parts: list[str] = []
    seen: set[int] = set()
    groups = _group_of(parser)
    exclusive = {id(a): g for g in parser._mutually_exclusive_groups for a in g._group_actions}
    actions = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    optionals = [a for a in actions if a.option_strings]
    positionals = [a for a in actions if not a.option_strings]

    def one(action: argparse.Action) -> str:
        value = _value(action)
        if not action.option_strings:
            return value
        return f"{action.option_strings[0]} {value}".strip()

    for action in optionals:
        if id(action) in seen:
            continue
        if id(action) in groups:
            members = groups[id(action)]
            seen.update(id(m) for m in members)
            inner = " | ".join(one(m) for m in members)
            parts.append(f"({inner})" if exclusive[id(action)].required else f"[{inner}]")
        else:
            seen.add(id(action))
            parts.append(one(action) if action.required else f"[{one(action)}]")
    # positionals first, as people type them
    pos = ["COMMAND ..." if isinstance(a, argparse._SubParsersAction) else one(a) for a in positionals]
    return " ".join([prog, *pos, *parts])


def describe(parser: argparse.ArgumentParser, prog: str) -> dict:
    """The parser as plain data: usage, description, arguments and subcommands (recursively)."""
    info: dict = {
        "prog": prog,
        "usage": _usage(parser, prog),
        "description": _plain(parser.description),
        "arguments": [],
        "commands": [],
    }
    groups = _group_of(parser)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: _plain(c.help) for c in action._choices_actions}
            for name, sub in action.choices.items():
                child = describe(sub, f"{prog} {name}")
                child["help"] = helps.get(name, "")
                info["commands"].append(child)
            continue
        info["arguments"].append({
            "flags": _flags(action),
            "value": _value(action) if action.option_strings else "",
            "help": _help(action, prog),
            "default": _portable(_default(action)),
            "required": bool(action.option_strings and action.required),
            "exclusive": id(action) in groups,
        })
    return info


def trainer_description() -> dict:
    """The trainer's parser, described in a child process (no torch in this one)."""
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        f"sys.path.insert(0, {str(ROOT / 'scripts')!r})\n"
        "from cli_reference import describe\n"
        "from training.cli import build_parser\n"
        "print(json.dumps(describe(build_parser(), 'python -m training')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(done.stdout)


def app_descriptions() -> tuple[dict, dict]:
    sys.path.insert(0, str(ROOT))
    from clml_desktop.app import build_parser
    from clml_desktop.cli.open_gui import build_parser as gui_parser

    return describe(gui_parser(), "clml-desktop"), describe(build_parser(), "clml-desktop")


# ---------------------------------------------------------------- plain data -> Markdown


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _command_md(info: dict, level: int) -> list[str]:
    lines = [f"{'#' * level} `{info['prog']}`", ""]
    summary = info.get("help") or ""
    if summary:
        lines += [summary[0].upper() + summary[1:] + ("" if summary.endswith(".") else "."), ""]
    if info["description"] and info["description"] != summary:
        lines += [info["description"], ""]
    lines += ["```", info["usage"], "```", ""]
    if info["arguments"]:
        lines += ["| Argument | Meaning | Default |", "|---|---|---|"]
        for arg in info["arguments"]:
            flag = f"`{arg['flags']}`" + (f" `{arg['value']}`" if arg["value"] else "")
            notes = arg["help"]
            if arg["required"]:
                notes = (notes + " (required)").strip()
            if arg["exclusive"]:
                notes = (notes + " (one of a group; see usage)").strip()
            default = f"`{arg['default']}`" if arg["default"] else ""
            lines.append(f"| {_cell(flag)} | {_cell(notes)} | {_cell(default)} |")
        lines.append("")
    for child in info["commands"]:
        lines += _command_md(child, level + 1)
    return lines


def render() -> str:
    gui, app = app_descriptions()
    trainer = trainer_description()
    lines = [
        "# Command-line reference",
        "",
        "<!-- Generated by scripts/cli_reference.py from the argparse parsers; do not edit by hand.",
        f"     Regenerate: {REGENERATE} -->",
        "",
        "This page is written from the programs' own option parsers, so it lists exactly what",
        "`clml-desktop` and the trainer accept. `--help` after any command prints the same.",
        "Options in `[brackets]` are optional; `(a | b)` means one of them is required.",
        "",
        "Contents:",
        "",
        "- [`clml-desktop [FOLDER]`](#clml-desktop-the-window): open the window",
    ]
    for child in app["commands"]:
        name = child["prog"]
        anchor = name.replace(" ", "-").lower()
        lines.append(f"- [`{name}`](#{anchor}): {child.get('help', '')}")
    for child in trainer["commands"]:
        name = child["prog"]
        anchor = name.replace(" ", "-").lower()
        lines.append(f"- [`{name}`](#{anchor}): {child.get('help', '')}")
    lines += ["", "## `clml-desktop` (the window)", ""]
    gui["help"] = ""
    lines += _command_md(gui, 3)[2:]
    lines += [
        "With a first word that is one of the commands below, `clml-desktop` runs that command",
        "headless instead of opening the window.",
        "",
        "## `clml-desktop` commands",
        "",
    ]
    for child in app["commands"]:
        lines += _command_md(child, 3)
    lines += [
        "## The trainer: `python -m training`",
        "",
        trainer["description"],
        "",
        "The app runs `fit` for you (the Train panel, `clml-desktop train`); you need it directly",
        "only to train outside the app or on several GPUs (docs/multi-gpu.md).",
        "",
    ]
    for child in trainer["commands"]:
        lines += _command_md(child, 3)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/cli.md from the CLI parsers.")
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/cli.md is out of date")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    args = parser.parse_args(argv)
    text = render()
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"docs/cli.md is out of date; regenerate it with: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
