"""The ``ildrad`` command line: one Typer app, each command a thin call into the library.

Command modules are listed explicitly in :data:`COMMAND_MODULES`; each defines
``register(app)`` and imports heavy libraries only inside its command functions, so that a light
command never loads torch or dask. Exit codes: 0 ok, 2 bad input, 1 unexpected error
(and 3 for a cohort run in which some scans failed: their errors are in the store).
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from ildrad import __version__

__all__ = ["app", "main"]

#: Modules of ``ildrad.cli`` that add commands to the app, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "demo", "synth", "convert", "segment", "pet", "extract", "filter",
    "cohort", "models", "perturb", "deep", "report",
)

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="ildrad",
    help="Quantitative CT, PET/CT, IBSI radiomics and validated outcome models for SSc-ILD.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ildrad {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debugging detail."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors; no progress bars."),
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    from ildrad.log import configure_logging

    configure_logging(verbose=verbose, quiet=quiet)


for _name in COMMAND_MODULES:
    importlib.import_module(f"ildrad.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map exceptions to exit codes (0 ok, 2 bad input, 1 unexpected)."""
    from ildrad.errors import InputError

    log = logging.getLogger("ildrad")
    try:
        result = app(args=argv, standalone_mode=False, prog_name="ildrad")
    except typer.Exit as stop:
        return _finish(getattr(stop, "exit_code", EXIT_OK), argv)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return _finish(EXIT_UNEXPECTED, argv)
    except typer.TyperException as err:  # usage errors: unknown command, bad option value
        err.show()
        return _finish(EXIT_BAD_INPUT, argv)
    except InputError as err:
        typer.echo(f"error: {err}", err=True)
        return _finish(EXIT_BAD_INPUT, argv)
    except Exception:  # noqa: BLE001 - the top level reports every unexpected failure
        log.exception("unexpected error (please report it)")
        return _finish(EXIT_UNEXPECTED, argv)
    code = result if isinstance(result, int) else EXIT_OK
    return _finish(code, argv)


def _finish(code: int, argv: list[str] | None) -> int:
    if argv is None:
        sys.exit(code)
    return code
