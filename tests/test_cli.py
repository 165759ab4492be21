"""The command line: help, exit codes, lazy imports."""

from __future__ import annotations

import subprocess
import sys

from ildrad.cli import main


def test_help_and_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert "ildrad" in capsys.readouterr().out
    assert main(["--help"]) == 0


def test_unknown_command_is_bad_input() -> None:
    assert main(["no-such-command"]) == 2


def test_cli_import_is_light() -> None:
    code = (
        "import sys, ildrad.cli; heavy = {'torch', 'dask', 'sksurv', 'monai', 'distributed'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
