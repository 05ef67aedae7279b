"""How a score and a cut are said to a person: "82% likely", "shown from 50%".

One place, so the grid, the inspector, review, the export summary and the
command line use the same words for the same numbers. A score is rounded
*down* to a whole percent: a pair shown as "50% likely" then really reaches a
"shown from 50%" cut, and no score is shown as more likely than the model said.
A cut keeps one decimal when it has one (a 37.5% set on the command line).
"""

from __future__ import annotations

import math

# float32 scores and cuts are not exact in decimal (0.29 is 28.999999 percent);
# this much is forgiven before rounding down.
_SLACK = 1e-4


def score_percent(score: float) -> str:
    """A score as a whole percent, rounded down: '82%', '<1%' below 1%, '—' when missing."""
    if score is None or math.isnan(score):
        return "—"
    whole = math.floor(min(1.0, max(0.0, float(score))) * 100 + _SLACK)
    return "<1%" if whole < 1 else f"{whole}%"


def likely_text(score: float) -> str:
    """'82% likely'."""
    return f"{score_percent(score)} likely"


def cut_percent(threshold: float) -> str:
    """A threshold as a percent: '50%', '37.5%'."""
    value = float(threshold) * 100
    if abs(value - round(value)) < 0.05:
        return f"{round(value)}%"
    return f"{value:.1f}%"


def shown_from_text(threshold: float) -> str:
    """'shown from 50%'."""
    return f"shown from {cut_percent(threshold)}"


def cuts_text(thresholds: list[float]) -> str:
    """The cut behind several suggestions: 'shown from 50%', or the range when tags differ."""
    values = sorted({cut_percent(t): float(t) for t in thresholds}.items(), key=lambda kv: kv[1])
    if not values:
        return ""
    if len(values) == 1:
        return shown_from_text(values[0][1])
    return f"shown from {values[0][0]}–{values[-1][0]} (per-tag cuts)"


def parse_percent(text: str) -> float:
    """A typed percentage as a probability: '70' or '70%' → 0.7.
    Raises ValueError for anything but a number from 0 to 100."""
    text = text.strip()
    number = text[:-1].strip() if text.endswith("%") else text
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"type a percentage such as 70 or 70%, not {text!r}") from None
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"a percentage runs from 0 to 100, not {text}")
    return value / 100.0
