"""`faqbot eval` (the batch test a client runs before going live) and `faqbot ask` (one message, with the why).

Both read the KB with the upload's own parser (`load_kb_file`) and decide with the webhook's own
code (`Matcher.match`, built by the same factory `MatcherCache` uses), so their figures are what
the bot will do. To add a way of matching (e.g. a semantic signal), add an option to
`matcher_options` and pass it on in `build_matcher`: both commands pick it up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from faqbot.cli import cli

if TYPE_CHECKING:
    from faqbot.config import MatchThresholds
    from faqbot.kb.matcher import Matcher
    from faqbot.kb.models import KbEntry

F = TypeVar("F", bound=Callable[..., Any])

_KB_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_SHOWN_FIGURES = ("accuracy", "resolved", "wrong_rate", "human_recall")


def matcher_options(command: F) -> F:
    """The options that shape the matcher, shared by `eval` and `ask`."""
    command = click.option(
        "--thresholds",
        "thresholds_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="JSON file of MatchThresholds fields (a bot's `thresholds`); default: the calibrated defaults.",
    )(command)
    command = click.option("--kb", "kb_file", type=_KB_FILE, required=True, help="KB spreadsheet (.csv/.xlsx).")(
        command
    )
    # The semantic tier (docs/semantic.md): remembered in the context, so the commands need no parameter for it.
    command = click.option(
        "--semantic",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Add the Amazon Bedrock semantic tier, as a bot with it switched on (needs AWS credentials).",
    )(command)
    command = click.option(
        "--semantic-settings",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        expose_value=False,
        callback=_remember,
        help="JSON of a bot's `semantic` settings for --semantic; default: the defaults.",
    )(command)
    return command


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"faqbot.{param.name}"] = value
    return value


def load_entries(kb_file: Path) -> list[KbEntry]:
    """The KB exactly as an upload would read it; a file an upload would reject is a usage error."""
    from faqbot.kb.spreadsheet import BadSpreadsheet, load_kb_file

    try:
        return load_kb_file(kb_file)
    except BadSpreadsheet as error:
        raise click.ClickException(f"{kb_file} would be rejected on upload:\n{error.report.summary()}") from error


def load_thresholds(thresholds_file: Path | None) -> MatchThresholds:
    from pydantic import ValidationError

    from faqbot.config import MatchThresholds

    if thresholds_file is None:
        return MatchThresholds()
    try:
        return MatchThresholds.model_validate_json(thresholds_file.read_text(encoding="utf-8"))
    except ValidationError as error:
        raise click.ClickException(f"{thresholds_file}: not valid thresholds:\n{error}") from error


def build_matcher(entries: list[KbEntry], thresholds: MatchThresholds, **_options: Any) -> Matcher:
    """The matcher the webhook would build for this KB (the same factory `MatcherCache` calls)."""
    from faqbot.conversation.knowledge import default_matcher_factory
    from faqbot.kb.matcher import Matcher

    matcher = default_matcher_factory(entries, thresholds)
    assert isinstance(matcher, Matcher)
    context = click.get_current_context(silent=True)
    if context is not None and context.meta.get("faqbot.semantic"):
        from faqbot.semantic.evaluation import cli_matcher

        # The webhook's SemanticMatcher around it; `eval` and `ask` only call `match`.
        return cast("Matcher", cli_matcher(matcher, entries, context.meta.get("faqbot.semantic_settings")))
    return matcher


@cli.command("eval")
@matcher_options
@click.option(
    "--queries",
    "queries_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV `query,expected`: expected is a KB id, empty (the KB does not answer it) or @human.",
)
@click.option(
    "--details",
    "details_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write one CSV row per query: query, expected, decision, chosen id(s), score.",
)
@click.option("--json", "as_json", is_flag=True, help="End the output with the figures as one JSON line.")
def eval_command(
    kb_file: Path, thresholds_file: Path | None, queries_file: Path, details_file: Path | None, as_json: bool
) -> None:
    """Run labelled customer messages through the bot's decision code and print the figures."""
    from faqbot.kb.evaluation import figures, load_queries, run, write_details

    entries = load_entries(kb_file)
    try:
        queries = load_queries(queries_file)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    matcher = build_matcher(entries, load_thresholds(thresholds_file))
    outcomes = run(matcher, queries)
    values = figures(outcomes).as_dict()
    if details_file is not None:
        write_details(outcomes, details_file)
    click.echo(
        f"KB {kb_file.name}: {len(entries)} entries; {values['queries']} queries ({values['in_scope']} in scope)"
    )
    click.echo(
        f"answered correctly {values['answered_correct']},"
        f" clarified with the right choice {values['clarified_correct']},"
        f" wrong answers {values['wrong_answers']}, escalated {values['escalated']}"
    )
    click.echo("  ".join(f"{name} {values[name]:.3f}" for name in _SHOWN_FIGURES))
    click.echo(f"latency per message: p50 {values['p50_ms']:.2f} ms, p99 {values['p99_ms']:.2f} ms")
    if click.get_current_context().meta.get("faqbot.semantic"):
        from faqbot.semantic.evaluation import summary

        click.echo(summary(matcher))
    if details_file is not None:
        click.echo(f"details: {details_file}")
    if as_json:
        click.echo(json.dumps(values, ensure_ascii=False))


@cli.command("ask")
@matcher_options
@click.argument("message")
@click.option("--json", "as_json", is_flag=True, help="Print the decision and candidates as JSON.")
def ask_command(kb_file: Path, thresholds_file: Path | None, message: str, as_json: bool) -> None:
    """Show what the bot would do with MESSAGE: the decision and the top candidates with scores."""
    matcher = build_matcher(load_entries(kb_file), load_thresholds(thresholds_file))
    result = matcher.match(message)
    chosen = [entry.id for entry in result.choices]
    if as_json:
        payload = {
            "decision": result.decision.value,
            "chosen": chosen,
            "language": result.language.value,
            "smalltalk": result.smalltalk,
            "candidates": [
                {"id": c.entry.id, "score": c.score, "coverage": c.coverage, "question": c.entry.question}
                for c in result.candidates
            ],
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    suffix = f" ({result.smalltalk})" if result.smalltalk else ""
    click.echo(f"decision: {result.decision.value}{suffix}  language: {result.language.value}")
    if chosen:
        click.echo(f"chosen: {', '.join(chosen)}")
    for candidate in result.candidates:
        click.echo(
            f"  {candidate.entry.id:>6}  score {candidate.score:.3f}  coverage {candidate.coverage:.2f}"
            f"  {candidate.entry.question}"
        )
    if result.entry is not None:
        click.echo(f"answer: {result.entry.answer}")
