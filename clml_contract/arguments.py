"""What a valid training option is, for both command lines that take them.

`clml-desktop train` (the app) and `python -m training fit` (the trainer, which
people also run on its own) accept the same options, and an impossible value
must be a usage error (exit 2) at parse time in both, before a store is opened
or torch is loaded: `--epochs 0` made an untrained model active and
`--clml-lambda nan` trained to NaN and was registered (issue 14). One set of
argparse types, written once, keeps the two command lines from drifting.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def positive_int(text: str) -> int:
    """A whole number above 0 (epochs, batch size, image size)."""
    return _whole(text, 1)


def non_negative_int(text: str) -> int:
    """A whole number, 0 or more (folds: 0 or 1 means none; workers; the first correcting epoch)."""
    return _whole(text, 0)


def _whole(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} is below {low}")
    return value


def number_in(low: float, high: float = math.inf, *, above_low: bool = False,
              below_high: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high] (an open end when `above_low` /
    `below_high`); NaN and infinities are refused."""

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if value < low or (above_low and value == low) or value > high or (below_high and value == high):
            left, right = "(" if above_low else "[", ")" if below_high else "]"
            upper = "∞)" if math.isinf(high) else f"{high:g}{right}"
            raise argparse.ArgumentTypeError(f"{text} is outside {left}{low:g}, {upper}")
        return value

    number.__name__ = "number"
    return number


def non_empty(text: str) -> str:
    """A string with at least one character (a delimiter)."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text
