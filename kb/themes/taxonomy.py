"""The failure-theme taxonomy: the built-in data file plus a user's own themes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from kb.settings import DATA_DIR

BUILTIN = DATA_DIR / "themes.yaml"
REQUIRED = ("id", "label", "definition", "terms", "examples")


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used, naming the file and the reason."""


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    group: str
    definition: str
    terms: tuple[str, ...]
    indicators: tuple[str, ...]
    examples: tuple[str, ...]
    negatives: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    source: str = "built-in"
    # Whose condition the theme is: "carer" for a parent's or carer's (their drinking, their mental
    # health), so a passage about the child's own cannabis use does not count for the parent's.
    about: str = "child"
    # The theme exists only where a child is at risk: in a report about an adult it counts only in
    # passages that mention a child (kb/themes/subject.py).
    child_only: bool = False


@dataclass(frozen=True)
class Taxonomy:
    version: str
    themes: tuple[Theme, ...]
    groups: dict[str, str] = field(default_factory=dict)

    def get(self, theme_id: str) -> Theme | None:
        return next((t for t in self.themes if t.id == theme_id), None)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    @property
    def fingerprint(self) -> str:
        """A hash of everything the classifier learns from, to know when to retrain it."""
        digest = hashlib.sha256()
        for t in self.themes:
            digest.update(json.dumps([t.id, t.examples, t.indicators, t.negatives, t.about]).encode())
        return digest.hexdigest()[:16]


def load_taxonomy(user_file: Path | None = None) -> Taxonomy:
    """Load the built-in taxonomy, then a user's file whose themes add to (or refine) it."""
    return _load(BUILTIN, Path(user_file) if user_file else None)


@lru_cache(maxsize=8)
def _load(builtin: Path, user_file: Path | None) -> Taxonomy:
    base = _read(builtin)
    themes = {t.id: t for t in _themes(base, builtin, "built-in")}
    version = str(base.get("version", "0"))
    groups = dict(base.get("groups", {}))
    if user_file is not None:
        if not user_file.exists():
            raise TaxonomyError(f"{user_file}: the user theme file does not exist")
        extra = _read(user_file)
        for theme in _themes(extra, user_file, "user"):
            themes[theme.id] = theme
        groups.update(extra.get("groups") or {})
        digest = hashlib.sha256(user_file.read_bytes()).hexdigest()[:8]
        version = f"{version}+user.{extra.get('version', digest)}.{digest}"
    return Taxonomy(version=version, themes=tuple(themes.values()), groups=groups)


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("themes"), list):
        raise TaxonomyError(f"{path}: expected a mapping with a 'themes' list")
    return data


def _themes(data: dict, path: Path, source: str) -> list[Theme]:
    themes = []
    for n, item in enumerate(data["themes"], start=1):
        missing = [key for key in REQUIRED if not item.get(key)] if isinstance(item, dict) else list(REQUIRED)
        if missing:
            raise TaxonomyError(f"{path}: theme {n} lacks {', '.join(missing)}")
        themes.append(
            Theme(
                id=str(item["id"]),
                label=str(item["label"]),
                group=str(item.get("group", "user")),
                definition=" ".join(str(item["definition"]).split()),
                terms=tuple(str(t).lower() for t in item.get("terms") or ()),
                indicators=tuple(str(t).lower() for t in item.get("indicators") or ()),
                examples=tuple(str(t) for t in item["examples"]),
                negatives=tuple(str(t) for t in item.get("negatives") or ()),
                references=tuple(str(t) for t in item.get("references") or ()),
                source=source,
                about=str(item.get("about", "child")),
                child_only=bool(item.get("child_only", False)),
            )
        )
    return themes
