"""Rates leave undetermined answers out of their denominators and report them beside."""

from __future__ import annotations

import pytest

from falsereject.metrics import breakdown, summarize, wilson

FC, SPC, DR, UND = "full_compliance", "safe_partial_compliance", "direct_refusal", "undetermined"


def test_undetermined_is_counted_but_never_a_verdict() -> None:
    m = summarize([FC, FC, SPC, DR, UND, UND])
    assert (m["n"], m["undetermined"]) == (4, 2)
    assert m["undetermined_rate"] == pytest.approx(2 / 6)
    assert m["compliance_rate"] == pytest.approx(2 / 4)
    assert m["usr"] == pytest.approx(3 / 4)
    assert m["refusal_rate"] == pytest.approx(1 / 4)
    assert m["usr_toxic"] == pytest.approx(2 / 4)
    assert m["usr_ci_low"] < m["usr"] < m["usr_ci_high"]


def test_all_undetermined_gives_no_rate_rather_than_zero() -> None:
    m = summarize([UND, UND])
    assert m["n"] == 0 and m["usr"] is None and m["usr_ci_low"] is None
    assert m["undetermined_rate"] == 1.0


def test_wilson_matches_reference_values() -> None:
    # 8/10 -> (0.4902, 0.9433), a textbook value; and the bounds stay inside [0, 1]
    low, high = wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0


def test_unknown_labels_are_rejected() -> None:
    with pytest.raises(ValueError, match="not a verdict: refusal"):
        summarize([FC, "refusal"])


def test_breakdown_groups_rows() -> None:
    rows = [{"verdict": DR, "category": "a"}, {"verdict": FC, "category": "b"},
            {"verdict": UND, "category": "b"}]
    groups = breakdown(rows, "category")
    assert groups["a"]["refusal_rate"] == 1.0
    assert (groups["b"]["n"], groups["b"]["undetermined"], groups["b"]["usr"]) == (1, 1, 1.0)


def test_undetermined_reasons_are_counted_apart() -> None:
    m = summarize([FC, UND, UND, UND], failures=[None, "transport", "unusable", None])
    assert (m["undetermined_transport"], m["undetermined_unusable"],
            m["undetermined_unknown"], m["undetermined_no_answer"]) == (1, 1, 1, 0)
    # a reason on a row with a verdict is ignored: Inspect's epoch reducer keeps the first
    # epoch's metadata, so a reduced verdict can carry a failed epoch's reason
    assert summarize([FC], failures=["transport"])["undetermined_transport"] == 0
    with pytest.raises(ValueError, match="not a reason"):
        summarize([UND], failures=["bad luck"])


def test_epochs_reduce_to_the_most_common_verdict_earliest_on_ties() -> None:
    from falsereject.metrics import reduce_epochs

    answers = [(1, FC), (1, DR), (1, DR), (2, UND), (2, FC), (3, SPC)]
    kept = reduce_epochs(answers, lambda a: a[0], lambda a: a[1])
    assert kept == [(1, DR), (2, UND), (3, SPC)]


def test_harness_subsets_are_named() -> None:
    from types import SimpleNamespace

    from falsereject.inspect_logs import _harness_subset
    from falsereject.lm_eval_files import RunInfo

    config = SimpleNamespace(limit=(10, 20), sample_id=None)
    assert _harness_subset(config) == "limit=10-20"
    assert _harness_subset(SimpleNamespace(limit=None, sample_id=[3, 5])) == "sample_id=3,5"
    run = RunInfo(None, {"config": {"limit": None},  # type: ignore[arg-type]
                         "n-samples": {"falsereject": {"original": 1187, "effective": 40}}})
    assert run.harness_subset("falsereject") == "40 of 1187 documents"
