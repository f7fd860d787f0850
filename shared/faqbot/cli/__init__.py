"""The `faqbot` command line: local stack, ingest, eval, bot management."""

from __future__ import annotations

import click

from faqbot import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="faqbot")
def cli() -> None:
    """faqbot: a virtual manager answering customers from the client's own Q&A sheet."""


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    cli()


def _register_commands() -> None:
    """Import the command modules; each attaches its commands to `cli`."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
