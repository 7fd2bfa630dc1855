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
    gate: float = 0.0  # a passage whose finding gate is below this shows no theme (0: every passage may)

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
            gate=float(data.get("gate", 0.0)),
        )

    def save(self, path: Path, note: dict, header: str = "# Per-theme thresholds chosen by `scrkb eval themes --calibrate`.") -> None:
        data = {**note, "default": round(self.default, 3), "gate": round(self.gate, 3),
                "thresholds": {k: round(v, 3) for k, v in sorted(self.thresholds.items())}}
        path.write_text(header + "\n" + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
