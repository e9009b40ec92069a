"""argparse pieces shared by every command line of the package (no dependency on the trainer)."""
from __future__ import annotations

import argparse


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``prog: error: ...``), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` to a flag's help only where it says something: not when the
    help already states its default, not for a ``None`` default (the help says what happens
    then) and not for an on/off switch that is off unless given."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "default:" in text or action.default in (None, [], argparse.SUPPRESS):
            return text
        if action.nargs == 0 and action.default is False and not isinstance(action, argparse.BooleanOptionalAction):
            return text
        return super()._get_help_string(action)


def flag_error(err: Exception, parser: argparse.ArgumentParser) -> str:
    """The message of a config error, naming the flag instead of the config field: a run's
    config checks its own values (``"sparsity must be in [0, 1), got nan"``, the Python API
    says the same) and the command line shows ``"--sparsity must be in [0, 1), got nan"``."""
    text = str(err)
    field, sep, rest = text.partition(" ")
    for action in parser._actions:
        if sep and action.dest == field and action.option_strings:
            return f"{'/'.join(action.option_strings)} {rest}"
    return text
