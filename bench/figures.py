"""What every benchmark reports: a measured figure beside the floor it is judged against.

The floor is the same work done by the bare libraries in the same run, so the
ratio holds on a shared, noisy machine where absolute figures drift.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    floor: float | None = None  # None when the figure has a target rather than a floor
    target: str | None = None  # what the issue asks, in words ("p95 < 150 ms")
    note: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return round(self.value / self.floor, 2)

    def json(self) -> str:
        row = {k: v for k, v in asdict(self).items() if v is not None or k in ("floor",)}
        row["value"] = round(self.value, 3)
        row["ratio"] = self.ratio
        return json.dumps(row)


def table(figures: list[Figure]) -> str:
    lines = [f"{'benchmark':<44} {'value':>11} {'unit':<10} {'floor':>10} {'ratio':>6}  target"]
    for f in figures:
        floor = f"{f.floor:.3g}" if f.floor is not None else "-"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        lines.append(f"{f.name:<44} {f.value:>11.4g} {f.unit:<10} {floor:>10} {ratio:>6}  {f.target or ''}")
    return "\n".join(lines)


def peak_rss_mb() -> float:
    """This process's peak resident memory since it was started (exec'd).

    Not getrusage's ru_maxrss: Linux carries that across fork and exec, so a
    child started by a big parent reports the parent's peak.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def print_all(figures: Iterable[Figure]) -> list[Figure]:
    """Print each figure's JSON line as it is measured, then the table; return them."""
    shown = []
    for figure in figures:
        print(figure.json(), flush=True)
        shown.append(figure)
    print("\n" + table(shown))
    return shown
