"""`faqbot bench` (what `make bench` runs): prints the project's measured figures, section by section."""

from __future__ import annotations

import json
from pathlib import Path

import click

from faqbot.cli import cli

_REPO = Path(__file__).resolve().parents[3]
# ../shared/bench beside the project (the labelled benchmark KBs and messages); on a clone without
# it, the copy the tests use.
BENCH_DIRS = (_REPO.parent / "shared" / "bench", _REPO / "tests" / "data" / "bench")


def default_bench_dir() -> Path:
    """The first benchmark folder that exists (the kit beside the project wins)."""
    return next((path for path in BENCH_DIRS if path.is_dir()), BENCH_DIRS[0])


@cli.command()
@click.option(
    "--bench-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of labelled benchmark KBs (default: ../shared/bench beside the project, else tests/data/bench).",
)
@click.option("--section", "sections", multiple=True, help="Run only this section (repeatable).")
@click.option("--quick", is_flag=True, help="Fewer repetitions: a smoke run, not figures to quote.")
@click.option("--json", "as_json", is_flag=True, help="Also print every section's figures as one JSON line.")
@click.option("--list", "list_only", is_flag=True, help="List the sections and exit.")
def bench(bench_dir: Path | None, sections: tuple[str, ...], quick: bool, as_json: bool, list_only: bool) -> None:
    """Measure accuracy, latency and speed figures (matcher, webhook, mining...)."""
    from faqbot.bench import SECTIONS, BenchContext, run_sections

    if list_only:
        for section in SECTIONS:
            click.echo(f"{section.name:20} {section.description}")
        return
    directory = bench_dir or default_bench_dir()
    if not directory.is_dir():
        raise click.UsageError(f"benchmark folder not found: {directory} (pass --bench-dir)")
    try:
        results = run_sections(BenchContext(bench_dir=directory, quick=quick), sections)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    figures: dict[str, object] = {}
    for section, report in results:
        click.echo(f"== {section.name}: {report.title}")
        for line in report.lines:
            click.echo(f"   {line}")
        click.echo("")
        figures[section.name] = report.figures
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, sort_keys=True))
