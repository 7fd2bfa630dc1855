"""The tagger on review genre: what a real review's passages show, and how its model is trained and measured.

The passages here were written for these tests in the manner of review text; the
shipped model was trained on real review passages that are never committed.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from kb import KnowledgeBase, Settings
from kb.nlp.spacy_pipeline import analyse
from kb.themes.classifier import SHIPPED_DIR, fingerprint
from kb.themes.model import MODEL_FILE, ThemeModel
from kb.themes.quality_measure import GroupedItem
from kb.themes.taxonomy import load_taxonomy
from kb.themes.training import calibrate, cross_validated, fit, predict, prepare, train


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    return KnowledgeBase(Settings(home=tmp_path_factory.mktemp("tagger") / "kb")).tagger


def shown(tagger, text: str, section_kind: str | None = None) -> set[str]:
    [matches], _ = tagger.tag_texts([text], section_kinds=[section_kind])
    return {m.theme_id for m in matches if m.kind == "shows"}


def test_the_shipped_model_belongs_to_the_shipped_taxonomy():
    taxonomy = load_taxonomy()
    model = ThemeModel.load(MODEL_FILE)
    assert model is not None and model.fingerprint == fingerprint(taxonomy), "run scripts/train_tagger.py"
    assert (SHIPPED_DIR / f"theme_classifier-{fingerprint(taxonomy)}.npz").exists()
    assert set(model.lexical.theme_ids) <= set(taxonomy.ids) and "real passages" in model.trained_on


@pytest.mark.parametrize("text", [
    "This serious case review was commissioned by the local safeguarding children board in March 2015 after "
    "the death of Child T. The terms of reference asked the review to consider how effectively agencies shared "
    "information and whether thresholds were applied appropriately. The independent author met the review panel "
    "on five occasions.",
    "In line with the review's own anonymisation, adults are referred to here by role: the mother, the mother's "
    "partner and the partner's brother. Professionals are referred to by role.",
    "Section 47 of the Children Act 1989 places a duty on the local authority to make enquiries where it has "
    "reasonable cause to suspect that a child is suffering, or is likely to suffer, significant harm.",
])
def test_a_review_describing_itself_or_the_law_shows_no_theme(tagger, text):
    assert shown(tagger, text) == set()


def test_a_note_on_names_in_the_scope_shows_no_theme_though_it_names_the_mother_s_partner(tagger):
    note = ("2.3 The review covers the year before the baby's death and, where it matters, the assessment of risk "
            "in earlier pregnancies.\n\n2.4 Names. Adults are referred to by their relationship to the baby: the "
            "mother, the mother's partner and the paternal grandfather.")
    assert shown(tagger, note, "scope") == set()
    # An indicator that is not the theme's own name still shows it there.
    unassessed = ("1.4 The terms of reference asked the review to consider why the mother's partner, who had moved "
                  "in with the family in 2019, was never assessed, and why no checks on the partner were requested "
                  "from the police.")
    assert "invisible_men" in shown(tagger, unassessed, "scope")


def test_a_family_s_drinking_is_shown_by_describing_it(tagger):
    text = ("The mother drank heavily most evenings and was often intoxicated when the children came home from "
            "school. Neighbours told the police that the children were left alone while she slept.")
    assert "parental_substance_misuse" in shown(tagger, text)


def test_a_child_s_own_cannabis_use_is_not_a_parent_s_substance_misuse(tagger):
    text = ("Teachers believed that the pupil smelt of cannabis and searched her bag and blazer. Nothing was "
            "found. She denied having any drugs.")
    assert "parental_substance_misuse" not in shown(tagger, text)


def test_agencies_working_in_silos_is_information_sharing(tagger):
    text = ("Each agency held part of the picture. The police knew of the partner's violence, the school knew "
            "the boy was hungry and bruised, and the GP knew the mother had stopped her medication, but none of "
            "this was shared and nobody put it together. Agencies worked in silos.")
    assert "information_sharing" in shown(tagger, text)


def test_a_long_passage_is_read_to_its_end(tagger):
    filler = " ".join(
        f"On visit {n} the family support worker recorded that the flat was tidy and the children were at school."
        for n in range(1, 16)
    )
    last = ("No one asked who the man was whose boots stood in the hallway at every visit, and the mother's new "
            "partner, who had convictions for violence, was never seen or assessed.")
    text = filler + " " + last
    assert tagger.embedder.count_tokens(text) > 300  # past the 256 wordpieces the model reads at once
    [doc] = analyse([text])
    sentences = tagger.sentences_of(doc)
    vectors, sentence_vectors, tokens = tagger.embed([text], [sentences])
    [scores] = tagger.score([text], [sentences], sentence_vectors, vectors, tokens=tokens)
    best = scores["invisible_men"].sentences[0]
    assert text[best.start : best.end] == last  # the last sentence was read in a window of its own
    assert len({tuple(np.round(v, 4)) for v in sentence_vectors[0]}) == len(sentences)  # none fell back to the mean


def test_a_stored_passage_retagged_scores_as_it_did_at_ingest(tagger):
    """A store keeps passage and sentence vectors but not the token embeddings the model's attention reads:
    retagging (and evaluating on reviews) embeds the passages again and must come to the same scores."""
    texts = [
        "The health visitor knew of the partner's violence but the GP was never told, and each agency held "
        "part of the picture.",
        "Between March and June the school recorded that the boy arrived hungry and in dirty clothes; no referral "
        "was made.",
    ]
    sentences = [tagger.sentences_of(doc) for doc in analyse(texts)]
    vectors, sentence_vectors, tokens = tagger.embed(texts, sentences)
    assert tagger.model.attention is not None and [len(t) for t in tokens] == [
        tagger.embedder.count_tokens(text) + 2 for text in texts]  # every wordpiece, and the two special tokens
    at_ingest = tagger.score(texts, sentences, sentence_vectors, vectors, tokens=tokens)
    retagged = tagger.score(texts, sentences, sentence_vectors, vectors)
    for first, again in zip(at_ingest, retagged):
        assert first.keys() == again.keys()
        assert np.allclose([first[t].score for t in first], [again[t].score for t in first], atol=1e-4)


# --- training, on a small set written for the test ---------------------------------------------------

DRINKING = [
    "The father's drinking worsened over the summer and he was often drunk when collecting the children.",
    "Both parents were using heroin and the home was found to contain needles within the children's reach.",
    "The mother admitted drinking a bottle of vodka a day and the baby was found unattended in the bath.",
    "Police attended after the parents were found intoxicated with the toddler asleep on the kitchen floor.",
    "The stepfather smoked cannabis daily in the flat and sold it from the doorstep while the children watched.",
    "A hair strand test showed the mother's continued use of cocaine throughout the pregnancy.",
    "The parents' alcohol use led to repeated arguments, and the eldest child often put the others to bed.",
    "The mother relapsed into heroin use after the case was closed and was found unconscious with the baby nearby.",
]
SILOS = [
    "The hospital did not tell the GP about the head injury, and the school never heard about the police callouts.",
    "Information held by the police about the partner's convictions was not passed on to children's social care.",
    "The health visitor was unaware of the referral because the letter was sent to the wrong team and never read.",
    "Each agency knew something of the risk but none of them shared it, so nobody had the whole picture.",
    "The school's concerns about the boy's weight loss were never communicated to the GP or the health visitor.",
    "Probation knew of the partner's history of violence but did not share it with the social worker.",
    "The midwife's notes about the mother's fear of her partner did not reach the health visiting service.",
    "Children's social care did not inform the school that the family had been referred, so staff saw no pattern.",
]
PROCESS = [
    "The review panel met on six occasions and individual management reviews were sought from every agency.",
    "This report was commissioned by the partnership and written by an independent author.",
    "The terms of reference set the period under review as the two years before the child's death.",
    "The family were invited to contribute and the reviewer met the grandmother at her home.",
    "The review followed the statutory guidance in force at the time and used a systems methodology.",
    "Publication of this report was delayed until the conclusion of the criminal proceedings.",
    "Practitioners from each agency attended two learning events held as part of the review.",
    "The chapters of this report set out the background, the chronology and the findings in turn.",
]


def labelled() -> list[GroupedItem]:
    items = []
    for n, (a, b, c) in enumerate(zip(DRINKING, SILOS, PROCESS)):
        report = f"report-{n}"
        items.append(GroupedItem(f"d{n}", a, {"parental_substance_misuse"}, report))
        items.append(GroupedItem(f"s{n}", b, {"information_sharing"}, report))
        items.append(GroupedItem(f"p{n}", c, set(), report))
    return items


def test_training_fits_measures_by_report_and_keeps_thresholds_off_its_own_training(tagger, tmp_path):
    items = labelled()
    data = prepare(tagger, items)
    assert data.features.shape[:2] == (len(items), len(tagger.taxonomy.ids)) and data.real.all()
    predictions = cross_validated(data, folds=4)
    assert predictions.shape == data.gold.shape  # each passage predicted by a model that never saw its report
    model, calibration = train(tagger, data, "twenty-four written passages", folds=4)
    assert 0.0 <= calibration.gate <= 1.0 and calibration.source == "trained"
    ids = tagger.taxonomy.ids
    probs, gates = predict(model, data, np.arange(len(items)))
    drinking, silos = ids.index("parental_substance_misuse"), ids.index("information_sharing")
    assert probs[data.gold[:, drinking], drinking].min() > probs[~data.gold[:, drinking], drinking].max()
    assert probs[data.gold[:, silos], silos].mean() > probs[~data.gold[:, silos], silos].mean()
    attended = model.attention.probabilities([data.tokens[i] for i in range(len(items))])
    assert attended[data.gold[:, drinking], drinking].mean() > attended[~data.gold[:, drinking], drinking].mean()
    assert gates[data.gold.any(axis=1)].mean() > gates[~data.gold.any(axis=1)].mean()
    # the two themes with enough labelled passages learn how far to trust each part; the rest keep the fixed blend
    assert set(model.stacker.theme_ids) == {"parental_substance_misuse", "information_sharing"}
    # the finding gate learns to be held open by a theme whose evidence is plain
    assert model.gate_stacker is not None and model.gate_stacker.coef[1] > 0
    path = tmp_path / "model.npz"
    model.save(path)
    again = ThemeModel.load(path)
    assert again.stacker.theme_ids == model.stacker.theme_ids
    assert again.gate_stacker.theme_ids == ids
    probs_again, gates_again = predict(again, data, np.arange(len(items)))
    assert np.allclose(probs_again, probs, atol=1e-6) and np.allclose(gates_again, gates, atol=1e-6)
    assert again.trained_on == "twenty-four written passages"


def test_team_written_passages_train_at_a_lower_weight_and_never_choose_thresholds(tagger):
    items = labelled()
    data = prepare(tagger, items[:15], extra=items[15:])
    assert list(data.real) == [True] * 15 + [False] * 9 and (data.weights[~data.real] < 1).all()
    model = fit(data, np.arange(len(items)))
    probs, gates = predict(model, data, data.rows(True))
    calibration = calibrate(probs, gates, data.gold[data.rows(True)], tagger.taxonomy.ids)
    assert set(calibration.thresholds) <= {"parental_substance_misuse", "information_sharing"}
    assert not cross_validated(data, real=False, folds=3)[data.rows(True)].any()  # only the extra rows predicted


REALTEXT = Path(__file__).resolve().parent.parent / "corpora" / "realtext"
REALTEXT_MANIFESTS = sorted(REALTEXT.glob("*.manifest.jsonl"))
MANIFEST_FIELDS = {"id", "url", "report", "year", "nation", "review_type", "themes", "query", "n_words", "start", "end", "sha256"}


@pytest.mark.parametrize("path", REALTEXT_MANIFESTS, ids=lambda p: p.name)
def test_the_real_text_the_tagger_learnt_from_is_committed_only_as_text_free_manifests(path):
    """What the model was trained on can be rebuilt (address, anchors, hashes, labels) without any of its text
    being shipped: no field beyond the manifest's, anchors and digests that are hashes, themes in the taxonomy."""
    ids = set(load_taxonomy().ids)
    seen = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        assert set(entry) == MANIFEST_FIELDS, entry["id"]
        assert entry["id"] not in seen
        seen.add(entry["id"])
        assert entry["url"].startswith(("http://", "https://"))
        assert re.fullmatch(r"[0-9a-f]{12}", entry["start"]) and re.fullmatch(r"[0-9a-f]{12}", entry["end"])
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
        assert 20 <= entry["n_words"] <= 400
        assert set(entry["themes"]) <= ids
        assert entry["query"] is None or len(entry["query"].split()) < 30
    assert len(seen) >= 100


def test_the_coroners_reports_the_tagger_learnt_from_are_committed_as_labels_only_and_kept_apart_from_its_test():
    """The coroners' passages are cut from ../shared's CSV by ingest, so their labels name a report, a place
    and a text hash, never text; the reports trained on are not among those the report-level test keeps."""
    ids = set(load_taxonomy().ids)
    reports = [json.loads(line) for line in (REALTEXT / "pfd_reports.labels.jsonl").read_text(encoding="utf-8").splitlines()]
    passages = [json.loads(line) for line in (REALTEXT / "pfd_passages.labels.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(set(r) == {"id", "url", "themes"} and set(r["themes"]) <= ids for r in reports)
    assert all(set(p) == {"id", "report", "n", "sha1", "themes"} and set(p["themes"]) <= ids for p in passages)
    assert all(re.fullmatch(r"[0-9a-f]{40}", p["sha1"]) and isinstance(p["n"], int) for p in passages)
    assert len({p["id"] for p in passages}) == len(passages)
    trained = {p["report"] for p in passages}
    assert trained < {r["id"] for r in reports}
    assert len(reports) - len(trained) >= 100  # a held-out half for bench/pfd_themes.py
