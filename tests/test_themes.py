"""The theme taxonomy and tagger: themes shown with evidence, names told apart, user themes, evaluation."""

import json
import subprocess

import pytest
import yaml
from conftest import REPO, run_cli

from kb import KnowledgeBase, Settings
from kb.themes.calibration import CALIBRATION_FILE
from kb.themes.classifier import SHIPPED_DIR, fingerprint
from kb.themes.evaluate import evaluate_file
from kb.themes.taxonomy import BUILTIN, TaxonomyError, load_taxonomy

DEV_SET = REPO / "tests" / "data" / "themes_dev.jsonl"
# The tagger's macro-F1 on the development set when this test was last raised; it may only go up.
MACRO_F1_FLOOR = 0.65
REQUIRED_IDS = {
    "missed_warning_signs", "information_sharing", "thresholds", "start_again", "child_voice",
    "disguised_compliance", "professional_optimism", "invisible_men", "risk_assessment",
    "supervision_management", "workload_resources", "procedural_compliance", "escalation_challenge",
    "early_help", "record_keeping", "culture_identity", "disbelief_of_victims", "training_knowledge",
    "domestic_abuse", "parental_substance_misuse", "parental_mental_health", "neglect", "sexual_exploitation",
}
USER_THEME = {
    "version": "0.1",
    "themes": [{
        "id": "repeat_gp_attendance",
        "label": "Repeated GP attendance not linked",
        "definition": "A parent or child saw the GP many times and the attendances were never put together.",
        "terms": ["frequent attender"],
        "indicators": ["saw the gp repeatedly", "never linked the appointments"],
        "examples": [
            "The mother consulted her GP on seven occasions in a year and no one looked at the pattern.",
            "Each surgery appointment was dealt with by a different doctor and the visits were never linked.",
            "The GP saw the father repeatedly about his drinking but did not connect the consultations.",
            "Across twelve appointments at the practice, nobody noticed how often the baby was being brought in.",
            "The surgery's records show many visits by the mother, each treated on its own.",
        ],
        "negatives": ["The GP reviewed the full consultation history and referred the family the same day."],
    }],
}


@pytest.fixture(scope="module")
def kb(ingested):
    return ingested


def test_taxonomy_file_has_every_required_theme_with_its_parts():
    taxonomy = load_taxonomy()
    data = yaml.safe_load(BUILTIN.read_text(encoding="utf-8"))
    assert data["version"] == taxonomy.version
    assert REQUIRED_IDS <= set(taxonomy.ids)
    assert len(taxonomy.ids) == len(set(taxonomy.ids))
    for theme in taxonomy.themes:
        assert theme.group in data["groups"], theme.id
        assert len(theme.definition.split()) >= 25, theme.id
        assert len(theme.examples) >= 5 and len(theme.negatives) >= 3 and theme.terms and theme.references, theme.id


def test_a_broken_user_taxonomy_names_the_file(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("themes:\n  - id: x\n    label: X\n")
    with pytest.raises(TaxonomyError, match="mine.yaml: theme 1 lacks definition"):
        load_taxonomy(bad)


def test_shipped_classifier_and_calibration_match_the_taxonomy():
    taxonomy = load_taxonomy()
    assert (SHIPPED_DIR / f"theme_classifier-{fingerprint(taxonomy)}.npz").exists(), "run scripts/train_tagger.py"
    calibration = yaml.safe_load(CALIBRATION_FILE.read_text(encoding="utf-8"))
    assert calibration["taxonomy_version"] == taxonomy.version
    assert set(calibration["thresholds"]) <= set(taxonomy.ids) and 0 <= calibration["gate"] <= 1


def test_failure_is_shown_with_evidence_and_good_practice_is_not(kb):
    texts = [
        "The police knew about three domestic incidents but this information was never passed to the health "
        "visitor or to children's social care, so no one had the whole picture.",
        "The health visitor shared her concerns with the GP the same day and a strategy discussion followed promptly.",
        "All agencies should ensure that information about domestic abuse is shared with the GP.",
    ]
    failure, good, recommendation = kb.tagger.tag_texts(texts)[0]
    shown = {m.theme_id: m for m in failure if m.kind == "shows"}
    assert "information_sharing" in shown
    for evidence in shown["information_sharing"].evidence:
        assert texts[0][evidence.start : evidence.end] == evidence.text
    assert "information_sharing" not in {m.theme_id for m in good if m.kind == "shows"}
    assert "information_sharing" not in {m.theme_id for m in recommendation if m.kind == "shows"}
    assert all(0.0 <= m.score <= 1.0 for m in failure + good + recommendation)


def test_a_glossary_use_of_the_term_names_the_theme(tmp_path):
    kb = KnowledgeBase(Settings(home=tmp_path / "kb"))
    [matches], _ = kb.tagger.tag_texts(
        ["Disguised compliance: a parent giving the appearance of co-operating with agencies to avoid raising suspicions."],
        section_kinds=["glossary"],
    )
    kinds = {m.theme_id: m.kind for m in matches}
    assert kinds.get("disguised_compliance") == "names"


def test_stored_passages_carry_themes_with_evidence_and_the_taxonomy_version(kb):
    doc = kb.documents()[0]
    passages = kb.passages(doc.doc_id)
    themed = [p for p in passages if any(m.kind == "shows" for m in p.themes)]
    assert themed, "the Child S review shows several failures"
    analysis = next(p for p in passages if "never linked the visits" in p.text)
    assert {"information_sharing", "start_again"} <= {m.theme_id for m in analysis.themes if m.kind == "shows"}
    for passage in themed:
        for match in passage.themes:
            assert match.evidence
            for e in match.evidence:
                assert passage.text[e.start : e.end] == e.text
    versions = kb.catalogue.db.execute("SELECT DISTINCT taxonomy_version FROM passage_themes").fetchall()
    assert [v[0] for v in versions] == [kb.tagger.version]
    counts = kb.theme_counts()
    assert counts["information_sharing"]["shows"] >= 1 and counts["information_sharing"]["documents"] == 1


def test_tag_command_json_and_jsonl(tmp_path):
    text = "Child B was never seen alone by the social worker and her wishes were not recorded."
    result = subprocess.run(
        [*_scrkb(), "tag", "--json"], input=text, capture_output=True, text=True, check=True,
        env=_env(tmp_path),
    )
    data = json.loads(result.stdout)
    child_voice = next(t for t in data["themes"] if t["id"] == "child_voice")
    assert child_voice["kind"] == "shows" and child_voice["label"]
    assert text[child_voice["evidence"][0]["start"] : child_voice["evidence"][0]["end"]] == child_voice["evidence"][0]["text"]
    assert any(e["label"] == "ROLE" and e["text"] == "social worker" for e in data["entities"])

    lines = tmp_path / "in.jsonl"
    lines.write_text(json.dumps({"id": "a", "text": text}) + "\n" + json.dumps({"id": 7, "text": "The weather was fine."}) + "\n")
    out = [json.loads(line) for line in run_cli("tag", "--jsonl", str(lines), home=tmp_path / "kb").stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 7]
    assert "child_voice" in {t["id"] for t in out[0]["themes"]}
    assert not [t for t in out[1]["themes"] if t["kind"] == "shows"]


def test_eval_themes_holds_the_development_set_score(kb):
    result = evaluate_file(kb.tagger, DEV_SET)
    assert result["items"] >= 200
    assert result["macro_f1"] >= MACRO_F1_FLOOR
    assert set(result["themes"]) >= REQUIRED_IDS


def test_eval_command_prints_a_table_and_json(tmp_path):
    sample = tmp_path / "gold.jsonl"
    sample.write_text("\n".join(DEV_SET.read_text(encoding="utf-8").splitlines()[:30]) + "\n")
    table = run_cli("eval", "themes", str(sample), home=tmp_path / "kb").stdout
    assert "macro F1" in table and "micro" in table
    data = json.loads(run_cli("eval", "themes", str(sample), "--json", home=tmp_path / "kb").stdout)
    assert {"themes", "micro", "macro_f1", "cross_validated_macro_f1"} <= set(data)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1}\n')
    result = run_cli("eval", "themes", str(broken), home=tmp_path / "kb", check=False)
    assert result.returncode == 1 and "broken.jsonl:1" in result.stderr


def test_user_theme_is_tagged_after_retag(tmp_path, child_s_pdf):
    from ingest import ingest_paths

    user_file = tmp_path / "my-themes.yaml"
    user_file.write_text(yaml.safe_dump(USER_THEME))
    kb = KnowledgeBase(Settings(home=tmp_path / "kb", catalogue=tmp_path / "none.csv"))
    ingest_paths(kb, [child_s_pdf])
    kb.retag()  # from the stored vectors, as the retag below reads them
    before = {p.passage_id: p.themes for p in kb.passages(kb.documents()[0].doc_id)}

    retagged = KnowledgeBase(Settings(home=tmp_path / "kb", catalogue=tmp_path / "none.csv", user_themes=user_file))
    report = retagged.retag()
    assert report["passages"] == len(before) and "+user" in report["taxonomy_version"]
    passages = retagged.passages(retagged.documents()[0].doc_id)
    gp = next(p for p in passages if "never linked the visits" in p.text)
    assert "repeat_gp_attendance" in {m.theme_id for m in gp.themes if m.kind == "shows"}
    # the vector index carries the new theme as filterable metadata
    hits = retagged.vectors.collection.get(where={"themes": {"$contains": "repeat_gp_attendance"}})
    assert gp.passage_id in hits["ids"]
    # built-in themes are unchanged by adding a user theme
    assert {m.theme_id for m in gp.themes if m.kind == "shows"} - {"repeat_gp_attendance"} == {
        m.theme_id for m in before[gp.passage_id] if m.kind == "shows"
    }


def _scrkb():
    import os
    import shutil
    import sys

    return [shutil.which("scrkb", path=os.path.dirname(sys.executable)) or "scrkb"]


def _env(tmp_path):
    import os

    return {**os.environ, "SCRKB_HOME": str(tmp_path / "kb")}
