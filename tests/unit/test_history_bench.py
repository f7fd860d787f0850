"""`faqbot bench --section history`: the transcript page's render figures."""

from __future__ import annotations

from pathlib import Path

from faqbot.bench import BenchContext, run_sections


def test_history_section_reports_render_times_for_a_thousand_messages(tmp_path: Path) -> None:
    # when
    [(section, report)] = run_sections(BenchContext(bench_dir=tmp_path, quick=True), ["history"])

    # then
    assert section.name == "history"
    whole, page = report.figures["all_1000"], report.figures["page_200"]
    assert 0 < whole["median_ms"] <= whole["max_ms"]
    assert 0 < page["median_ms"] <= page["max_ms"]
    assert page["html_kib"] < whole["html_kib"]
    assert any("1,000 messages" in line for line in report.lines)
