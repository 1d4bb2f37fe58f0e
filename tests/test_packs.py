"""The packs shipped with Compass: each a valid bank in the house style; core a faithful cut of
full; llmops covering what a team shipping on language models does."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import ROOT, SHIPPED_BANK

from bot.app.packs import PACKS, BankSummary, UnknownPack, load_pack, pack_path, pack_summaries
from bot.domain.questionnaire import load_questionnaire

FULL = json.loads(SHIPPED_BANK.read_text(encoding="utf-8"))
CORE = json.loads((ROOT / "packs" / "core.json").read_text(encoding="utf-8"))
LLMOPS = json.loads((ROOT / "packs" / "llmops.json").read_text(encoding="utf-8"))


def test_the_packs_are_core_full_and_llmops_and_full_is_the_default_bank():
    assert list(PACKS) == ["core", "full", "llmops"]
    assert pack_path("full") == SHIPPED_BANK
    assert pack_path("core") == ROOT / "packs" / "core.json"
    assert pack_path("llmops") == ROOT / "packs" / "llmops.json"


def test_an_unknown_pack_is_refused_with_the_list_of_packs():
    with pytest.raises(UnknownPack) as caught:
        load_pack("mlops-lite")

    assert caught.value.detail == "There is no pack named 'mlops-lite'. The packs are: core, full, llmops."


def test_the_summaries_give_what_choosing_a_pack_needs():
    assert pack_summaries() == [
        BankSummary("core", CORE["version"], 5, 10, 5),
        BankSummary("full", FULL["version"], 5, 26, 12),
        BankSummary("llmops", LLMOPS["version"], 6, 18, 8),
    ]


@pytest.mark.parametrize("name", list(PACKS))
def test_each_pack_is_a_valid_bank(name):
    bank = load_pack(name)

    assert bank == load_questionnaire(PACKS[name])
    assert len(bank) > 0 and bank.version.strip()


@pytest.mark.parametrize("name", list(PACKS))
def test_each_pack_has_four_distinct_observable_options_and_distinct_advice(name):
    bank = load_pack(name)
    for question in bank:
        assert len({o.label for o in question.options}) == 4, question.id
        assert len({o.text for o in question.options}) == 4, question.id
        # an observable statement, not a one-word adjective such as "good" or "mature"
        assert all(len(o.text.split()) >= 6 for o in question.options), question.id
        assert len(set(question.next_steps)) == 4, question.id
    for dimension in bank.dimensions:
        assert len(set(dimension.recommendations)) == 4, dimension.id


@pytest.mark.parametrize("name", list(PACKS))
def test_each_dimension_of_each_pack_always_gets_a_score(name):
    bank = load_pack(name)
    for dimension in bank.dimensions:
        assert any(not q.allow_na for q in bank.questions_in(dimension.id)), dimension.id


@pytest.mark.parametrize("name", list(PACKS))
def test_each_pack_keeps_ids_unique_across_questions_and_dimensions(name):
    doc = json.loads(PACKS[name].read_text(encoding="utf-8"))
    ids = [q["id"] for q in doc["questions"]] + [d["id"] for d in doc["dimensions"]]

    assert len(ids) == len(set(ids))


# --- core -------------------------------------------------------------------------------------


def test_core_has_at_most_ten_questions_over_all_five_dimensions_of_full():
    core, full = load_pack("core"), load_pack("full")

    assert len(core) <= 10
    assert {q.dimension for q in core} == {d.id for d in full.dimensions}


def test_core_is_scored_on_the_same_dimensions_as_full():
    assert CORE["dimensions"] == FULL["dimensions"]


def test_core_takes_the_two_heaviest_questions_of_each_dimension_ties_to_the_earlier_one():
    expected = []
    for dimension in FULL["dimensions"]:
        in_dimension = [(i, q) for i, q in enumerate(FULL["questions"]) if q["dimension"] == dimension["id"]]
        heaviest = sorted(in_dimension, key=lambda iq: (-iq[1]["weight"], iq[0]))[:2]
        expected += [i for i, _ in heaviest]

    assert [q["id"] for q in CORE["questions"]] == [FULL["questions"][i]["id"] for i in sorted(expected)]
    # and no question left out of a dimension weighs more than one taken from it
    for dimension in FULL["dimensions"]:
        taken = [q["weight"] for q in CORE["questions"] if q["dimension"] == dimension["id"]]
        left = [
            q["weight"] for q in FULL["questions"] if q["dimension"] == dimension["id"] and q not in CORE["questions"]
        ]
        assert min(taken) >= max(left), dimension["id"]


def test_core_questions_are_exact_copies_of_full_so_answers_and_evidence_compare_like_with_like():
    full = load_pack("full")
    by_id = {q["id"]: q for q in FULL["questions"]}
    for raw in CORE["questions"]:
        assert raw == by_id[raw["id"]]
    for question in load_pack("core"):
        assert question.content_hash == full.question(question.id).content_hash
        assert question.evidence == full.question(question.id).evidence


def test_core_names_itself_and_the_version_of_full_it_was_cut_from():
    assert CORE["version"] == f"core-{FULL['version']}"


def test_core_is_answered_in_at_most_five_minutes():
    assert load_pack("core").minutes <= 5


# --- llmops -----------------------------------------------------------------------------------


def test_llmops_has_four_to_six_dimensions_and_fourteen_to_twenty_questions():
    bank = load_pack("llmops")
    per_dimension = Counter(q.dimension for q in bank)

    assert 4 <= len(bank.dimensions) <= 6
    assert 14 <= len(bank) <= 20
    assert all(2 <= count <= 5 for count in per_dimension.values()), per_dimension


def test_llmops_shares_no_dimension_or_question_id_with_full():
    """Its figures are about other practices: team views must never compare them with full's."""
    llmops, full = load_pack("llmops"), load_pack("full")

    assert not {d.id for d in llmops.dimensions} & {d.id for d in full.dimensions}
    assert not {q.id for q in llmops} & {q.id for q in full}


@pytest.mark.parametrize(
    "topic",
    [
        "prompt",
        "model version",
        "evaluation set",
        "regression",
        "guardrail",
        "red team",
        "cost",
        "latency",
        "quality",
        "feedback",
        "index",
        "personal data",
    ],
)
def test_llmops_asks_about_each_practice_the_pack_promises(topic):
    text = " ".join(
        [q.title + " " + q.text + " " + " ".join(o.text for o in q.options) for q in load_pack("llmops")]
    ).lower()

    assert topic in text


def test_llmops_cites_the_checks_and_metrics_that_can_inform_its_answers():
    cited = {rule.metric: q.id for q in load_pack("llmops") for rule in q.evidence}

    assert cited["check:eval regression"] == "evaluation.regression"
    assert cited["check:red team"] == "safety.red_team"
    assert cited["check:guardrail"] == "safety.guardrails"
    assert cited["model_quality_alerting"] == "observability.quality"
    assert cited["change_failure_rate"] == "prompts.release"


def test_llmops_offers_not_applicable_only_for_retrieval():
    assert [q.id for q in load_pack("llmops") if q.allow_na] == ["feedback.freshness", "feedback.retrieval"]


def test_llmops_is_versioned_as_the_llmops_pack():
    assert LLMOPS["version"].startswith("llmops-")
