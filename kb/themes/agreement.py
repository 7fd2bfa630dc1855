"""Agreement between the tagger and the reviewers, theme by theme: Cohen's kappa on reviewed tags."""

from __future__ import annotations


def cohen_kappa(pairs: list[tuple[bool, bool]]) -> float | None:
    """Cohen's kappa of two yes/no raters; None when chance agreement is total (all on one side), where
    kappa is undefined rather than zero."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    yes_a = sum(a for a, _ in pairs) / n
    yes_b = sum(b for _, b in pairs) / n
    expected = yes_a * yes_b + (1 - yes_a) * (1 - yes_b)
    if expected >= 1.0:
        return None
    return round((observed - expected) / (1 - expected), 3)


def review_agreement(reviews: list[dict], theme_ids: list[str]) -> dict[str, dict]:
    """Per theme, over the reviewed tags of passages still in the store: how many, how often the
    tagger's "shows" matched the reviewer's verdict, and Cohen's kappa.

    `reviews` are latest verdicts with the tagger's stored kind (`tag_kind`, None when
    it stored nothing). Reviewers mostly judge what the tagger tagged, so kappa here
    describes the reviewed tags, not the whole store.
    """
    pairs: dict[str, list[tuple[bool, bool]]] = {}
    for r in reviews:
        if r["passage_exists"]:
            pairs.setdefault(r["theme_id"], []).append((r["tag_kind"] == "shows", r["verdict"] != "reject"))
    order = theme_ids + sorted(set(pairs) - set(theme_ids))
    found = {}
    for theme in order:
        items = pairs.get(theme, [])
        found[theme] = {
            "reviewed": len(items),
            "confirmed_or_added": sum(b for _, b in items),
            "rejected": sum(not b for _, b in items),
            "agreement": round(sum(a == b for a, b in items) / len(items), 3) if items else None,
            "kappa": cohen_kappa(items),
        }
    return found
