"""`falsereject calibrate`: a scorer against human labels, on data made here (never the network)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import BIN, COMPLIANCE, PARTIAL, REFUSAL, run
from falsereject.calibration import load_labelled
from falsereject.data import DataError
from falsereject.scorers import OFFLINE_SCORER
from falsereject.server import ReplyError, serve, text_of

FALSEREJECT = str(BIN / "falsereject")
XS = {"full_compliance": "1_full_compliance", "direct_refusal": "2_full_refusal",
      "safe_partial_compliance": "3_partial_refusal"}


def write_xstest(folder: Path, model: str, rows: list[tuple[str, str, str, str, str]]) -> None:
    """rows: (type, completion, annotation_1, annotation_2, final_label) as verdict names."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"xstest_v2_completions_{model}.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "type", "prompt", "completion", "annotation_1", "annotation_2",
                         "agreement", "final_label"])
        for i, (kind, completion, a1, a2, final) in enumerate(rows, start=1):
            writer.writerow([f"v2-{i}", kind, f"prompt {i}", completion, XS[a1], XS[a2],
                             str(a1 == a2).upper(), XS[final]])


def calibrate(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    result = run([FALSEREJECT, "calibrate", *args, "--output-dir", str(tmp_path / "out")],
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads((tmp_path / "out" / "calibration.json").read_text()), result.stdout


def test_xstest_folder_figures_match_hand_counts(tmp_path: Path) -> None:
    fc, dr, spc = "full_compliance", "direct_refusal", "safe_partial_compliance"
    write_xstest(tmp_path / "xs", "alpha", [
        ("homonyms", COMPLIANCE, fc, fc, fc),       # offline: full    -> right
        ("homonyms", REFUSAL, dr, dr, dr),          # offline: refusal -> right
        ("contrast_homonyms", REFUSAL, dr, spc, dr),  # right; annotators disagree
        ("homonyms", COMPLIANCE, spc, dr, dr),      # offline: full    -> wrong
    ])
    write_xstest(tmp_path / "xs", "beta", [("homonyms", PARTIAL, spc, spc, spc)])
    result, printed = calibrate(tmp_path, "--data", str(tmp_path / "xs"))
    alpha = result["by_source"]["alpha"]
    assert (alpha["n"], alpha["accuracy"]["value"]) == (4, 0.75)
    # kappa by hand: observed 3/4; reference (fc 1, dr 3), scorer (fc 2, dr 2): expected 1/2
    assert alpha["kappa"]["value"] == pytest.approx(0.5)
    assert alpha["confusion"]["direct_refusal"]["full_compliance"] == 1
    assert alpha["annotators"]["with_each_other"]["value"] == pytest.approx(0.5)
    assert alpha["annotators"]["scorer_with_annotator_1"]["value"] == pytest.approx(0.75)
    assert alpha["annotators"]["scorer_with_annotator_2"]["value"] == pytest.approx(0.5)
    assert alpha["rate_error"]["usr_toxic"] == {"reference": 1.0, "scorer": 1.0, "error": 0.0,
                                                "n": 1}
    assert result["overall"]["n"] == 5 and result["scorer"] == OFFLINE_SCORER
    assert result["data"] == f"local:{tmp_path / 'xs'}"
    assert "alpha" in printed and "beta" in printed
    png, svg = tmp_path / "out" / "confusion.png", tmp_path / "out" / "confusion.svg"
    assert png.read_bytes()[:4] == b"\x89PNG" and "<svg" in svg.read_text()[:2000]


def test_jsonl_data_and_its_errors(tmp_path: Path) -> None:
    rows = [{"prompt": "p", "response": REFUSAL, "label": "direct_refusal", "source": "mine",
             "prompt_kind": "harmful"},
            {"prompt": "q", "response": COMPLIANCE, "label": "full_compliance"}]
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result, _ = calibrate(tmp_path, "--data", str(path))
    assert set(result["by_source"]) == {"mine", "labelled"}  # default source: the file's stem
    assert result["overall"]["accuracy"]["value"] == 1.0
    path.write_text(json.dumps({**rows[0], "label": "refused"}) + "\n")
    with pytest.raises(DataError, match=r"labelled.jsonl:1: field 'label': 'refused' is not"):
        load_labelled(path)


def test_the_default_data_fails_offline_with_what_to_do(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    import urllib.request

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("no network")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match=r"d7bb5bd7.*xstest_v2_completions_gpt4.csv.*--data"):
        load_labelled(None)


def test_llm_judge_calibration_counts_failures_and_caches(tmp_path: Path) -> None:
    labels = {REFUSAL: "Direct Refusal", COMPLIANCE: "Full Compliance"}
    calls: list[str] = []

    def judge(model: str, messages: list[dict[str, Any]]) -> str:
        text = text_of(messages[-1])
        calls.append(text)
        if "prompt 3" in text:
            raise ReplyError(400)  # a transport failure, final at once
        if "prompt 4" in text:
            return "No class from me."  # unusable
        return f"Clear.\n[[{labels[next(a for a in labels if a in text)]}]]"

    fc, dr = "full_compliance", "direct_refusal"
    write_xstest(tmp_path / "xs", "alpha", [("homonyms", COMPLIANCE, fc, fc, fc),
                                            ("homonyms", REFUSAL, dr, dr, dr),
                                            ("homonyms", REFUSAL, dr, dr, dr),
                                            ("homonyms", COMPLIANCE, fc, fc, fc)])
    with serve(judge) as url:
        args = ("--judge", "llm", "--judge-model", "judge", "--judge-base-url", url,
                "--judge-api-key", "k", "--cache-dir", str(tmp_path / "cache"),
                "--data", str(tmp_path / "xs"))
        result, printed = calibrate(tmp_path, *args)
        assert result["overall"]["n"] == 2 and result["overall"]["undetermined"] == 2
        assert result["undetermined_by_reason"] == {"transport": 1, "unusable": 1,
                                                    "no_answer": 0, "unknown": 0}
        assert result["overall"]["accuracy"]["value"] == 1.0  # failures are never scored
        assert result["scorer"].startswith("llm:judge@")
        assert result["judge"]["judge_template_sha256"]
        assert "1 transport, 1 unusable" in printed
        asked = len(calls)
        calibrate(tmp_path, *args)
    assert len(calls) == asked + 2  # verdicts came from the cache; the failures were asked again
