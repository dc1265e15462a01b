"""The boilerplate benchmark's scoring rule and copyright detector, on hand-made strings."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from benchmarks.boilerplate import (
    Overlap,
    has_copyright_line,
    main,
    overlap_scores,
    parse_args,
    run_page,
    tokenize,
)


def test_english_tokens_are_case_folded_words_without_punctuation() -> None:
    assert tokenize("The trial (n = 120) met its PRIMARY end-point.") == [
        "the",
        "trial",
        "n",
        "120",
        "met",
        "its",
        "primary",
        "end",
        "point",
    ]


def test_apostrophes_underscores_and_symbols_separate_tokens() -> None:
    assert tokenize("don't snake_case 5%±2 — ok…") == ["don", "t", "snake", "case", "5", "2", "ok"]


def test_each_chinese_character_is_a_token_and_punctuation_is_dropped() -> None:
    assert tokenize("结果：有效率为95%。") == ["结", "果", "有", "效", "率", "为", "95"]


def test_mixed_script_text_splits_latin_runs_from_han_characters() -> None:
    assert tokenize("采用SPSS 22.0软件") == ["采", "用", "spss", "22", "0", "软", "件"]


def test_full_width_forms_are_normalised_before_tokenising() -> None:
    assert tokenize("ＣＯＶＩＤ－１９患者") == ["covid", "19", "患", "者"]


def test_identical_texts_score_one_whatever_the_layout() -> None:
    gold = "First paragraph here.\n\nSecond one, with a list:\n- alpha\n- beta"
    predicted = "first paragraph here second one with a list alpha beta"
    assert overlap_scores(predicted, gold) == Overlap(1.0, 1.0, 1.0)


def test_disjoint_texts_score_zero() -> None:
    assert overlap_scores("Subscribe to our newsletter", "The drug lowered blood pressure") == Overlap(
        0.0, 0.0, 0.0
    )


def test_extra_boilerplate_lowers_precision_only() -> None:
    gold = "aspirin reduced pain in most patients"  # 6 tokens
    predicted = gold + " home about contact"  # 9 tokens, 6 shared
    scores = overlap_scores(predicted, gold)
    assert scores.precision == pytest.approx(6 / 9)
    assert scores.recall == 1.0
    assert scores.f1 == pytest.approx(2 * (6 / 9) / (6 / 9 + 1))


def test_missing_content_lowers_recall_only() -> None:
    scores = overlap_scores("aspirin reduced pain", "aspirin reduced pain in most patients")
    assert (scores.precision, scores.recall) == (1.0, 0.5)
    assert scores.f1 == pytest.approx(2 / 3)


def test_repeated_tokens_count_only_as_often_as_in_both_texts() -> None:
    # gold has "the" twice, the prediction four times: only two of them overlap.
    scores = overlap_scores("the the the the cat", "the cat sat on the mat")
    assert scores.precision == pytest.approx(3 / 5)
    assert scores.recall == pytest.approx(3 / 6)


def test_chinese_partial_overlap_counts_characters() -> None:
    scores = overlap_scores("本研究纳入患者。版权所有", "本研究纳入患者")
    assert scores.recall == 1.0
    assert scores.precision == pytest.approx(7 / 11)


def test_empty_prediction_and_empty_gold_edge_cases() -> None:
    assert overlap_scores("", "") == Overlap(1.0, 1.0, 1.0)
    assert overlap_scores("  …  ", "") == Overlap(1.0, 1.0, 1.0)  # no tokens on either side
    assert overlap_scores("", "some gold text") == Overlap(0.0, 0.0, 0.0)
    assert overlap_scores("some output", "") == Overlap(0.0, 1.0, 0.0)


@pytest.mark.parametrize(
    "text",
    [
        "Body text.\n© 2024 Example Media Group",
        "Body text.\nCopyright (c) 2019 The Authors",
        "Copyright 2021 Acme Inc. Some footer links",
        "Body.\nAcme Corp. All Rights Reserved.",
        "正文。\n版权所有 © 北京某某医院",
        "正文。\n版权所有：某某大学 京ICP备12345678号",
    ],
)
def test_copyright_lines_are_detected(text: str) -> None:
    assert has_copyright_line(text)


@pytest.mark.parametrize(
    "text",
    [
        "The court ruled on a copyright dispute between the two publishers.",
        "Reserved seats were all taken; rights groups protested.",
        "本研究版权问题由作者负责。",
        "",
    ],
)
def test_prose_about_copyright_is_not_a_copyright_line(text: str) -> None:
    assert not has_copyright_line(text)


def test_a_long_paragraph_mentioning_all_rights_reserved_is_not_a_footer_line() -> None:
    paragraph = "The licence text says all rights reserved, " + "and the article goes on to discuss it. " * 10
    assert not has_copyright_line(paragraph)
    assert has_copyright_line(paragraph + "\nAll rights reserved.")


def test_unknown_tool_name_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--tools", "ours,boilerpipe"])


def test_absent_data_folder_skips_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path / "missing")]) == 0
    assert "skipped" in capsys.readouterr().out


def test_our_extractor_runs_end_to_end_on_a_small_set(tmp_path: Path) -> None:
    html = (
        "<html><body><nav><ul><li><a href='/'>Home</a></li><li><a href='/news'>News</a></li></ul></nav>"
        "<article><h1>Aspirin and pain</h1>"
        "<p>In this randomised trial, aspirin reduced pain scores in most of the 120 patients enrolled.</p>"
        "<p>Adverse events were rare and mild, and no patient left the study because of them.</p></article>"
        "<footer><p>© 2024 Example Health. All rights reserved.</p></footer></body></html>"
    )
    gold = (
        "Aspirin and pain\n\nIn this randomised trial, aspirin reduced pain scores in most of the 120 "
        "patients enrolled.\n\nAdverse events were rare and mild, and no patient left the study because of them."
    )
    record = {"id": "p1", "set": "scrapinghub", "lang": "en", "url": "https://x.test/a", "html": html}
    with gzip.open(tmp_path / "scrapinghub.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write(json.dumps({**record, "gold_text": gold}) + "\n")
    out_json = tmp_path / "result.json"
    cpus_before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    args = ["--data-dir", str(tmp_path), "--sets", "scrapinghub", "--tools", "ours,ours_titled"]
    assert main([*args, "--json", str(out_json)]) == 0
    result = json.loads(out_json.read_text(encoding="utf-8"))
    page = result["pages"][0]["tools"]["ours_titled"]  # the record's text, title included
    assert page["error"] is None
    assert page["recall"] == 1.0
    assert page["precision"] > 0.9
    assert page["copyright"] is False
    body = result["pages"][0]["tools"]["ours"]  # the body alone: everything but the title
    assert body["precision"] == 1.0 and 0.8 < body["recall"] < 1.0
    if hasattr(os, "sched_getaffinity"):
        assert os.sched_getaffinity(0) == cpus_before  # the benchmark gives back the CPUs it pinned


def test_tools_take_turns_going_first_and_are_reported_in_the_asked_order() -> None:
    calls: list[str] = []

    def tool(name: str):
        def extract(html: str) -> str:
            calls.append(name)
            return html

        return extract

    tools = {name: tool(name) for name in ["a", "b", "c"]}
    record = {"id": "p", "set": "s", "html": "x", "gold_text": "x"}
    pages = [run_page(record, tools, turn=turn) for turn in range(3)]
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert all(list(page.results) == ["a", "b", "c"] for page in pages)
