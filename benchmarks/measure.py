"""One row of the benchmark table, and what every row carries besides its median: the range
over its rounds and the machine's load when it was measured.

The machine the numbers come from is shared, so a median alone says little: the range shows
how far one run's rounds moved, and the 1-minute load average (``os.getloadavg``) how busy
the machine was meanwhile. A row measured once says "1 round"."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from typing import NamedTuple

HEADER = ("benchmark", "median", "range over its rounds", "load (1 min)", "goal")


class Row(NamedTuple):
    benchmark: str
    median: str
    spread: str
    load: str
    goal: str = ""


def load_average() -> str:
    """The 1-minute load average now, as printed in every row."""
    return f"{os.getloadavg()[0]:.2f}"


def spread(values: Sequence[float], show: Callable[[float], str]) -> str:
    """``low–high over N rounds`` of the values, each shown by ``show``."""
    if len(values) == 1:
        return f"{show(values[0])}, 1 round"
    return f"{show(min(values))}–{show(max(values))} over {len(values)} rounds"


def ratio_row(
    label: str,
    ours: Sequence[float],
    theirs: Sequence[float],
    show_time: Callable[[float], str],
    goal: Callable[[float], str] | str = "",
) -> Row:
    """Two sides measured in interleaved rounds: the median of the per-round ratios (with each
    side's median), and the range of the per-round ratios. ``goal`` is the verdict, or makes
    it from the median ratio."""
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    median = statistics.median(ratios)
    return Row(
        label,
        f"{median:.2f}x ({show_time(statistics.median(ours))} vs {show_time(statistics.median(theirs))})",
        spread(ratios, lambda r: f"{r:.2f}x"),
        load_average(),
        goal if isinstance(goal, str) else goal(median),
    )


def print_table(rows: Sequence[Row]) -> None:
    """The rows as a Markdown table, columns padded to line up."""
    widths = [max(len(row[i]) for row in [*rows, HEADER]) for i in range(len(HEADER))]
    line = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
    print(line.format(*HEADER))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line.format(*row))
