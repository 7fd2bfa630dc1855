"""Per-theme score thresholds, calibrated on the labelled development set and kept as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.settings import DATA_DIR

CALIBRATION_FILE = DATA_DIR / "theme_calibration.yaml"
DEFAULT_THRESHOLD = 0.6


@dataclass
class Calibration:
    thresholds: dict[str, float] = field(default_factory=dict)
    default: float = DEFAULT_THRESHOLD
    source: str = "default"

    def threshold(self, theme_id: str) -> float:
        return self.thresholds.get(theme_id, self.default)

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> "Calibration":
        if not path.exists():
            return cls()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(
            thresholds={k: float(v) for k, v in (data.get("thresholds") or {}).items()},
            default=float(data.get("default", DEFAULT_THRESHOLD)),
            source=str(path.name),
        )

    def save(self, path: Path, note: dict) -> None:
        data = {**note, "default": round(self.default, 3), "thresholds": {k: round(v, 3) for k, v in sorted(self.thresholds.items())}}
        path.write_text(
            "# Per-theme thresholds chosen on tests/data/themes_dev.jsonl by `scrkb eval themes --calibrate`.\n"
            + yaml.safe_dump(data, sort_keys=False),
            encoding="utf-8",
        )
