"""Command line of lexigram-monitor: ``python -m lexigram.monitor <command>``.

Each command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int`` (the exit code). Command modules import their optional
dependencies inside ``run``, so ``--help`` and ``--version`` work with the core install
alone. Output piped into a reader that stops early (``slo rules x.yaml | head``) ends
the command quietly with exit status 141, as a command stopped by ``SIGPIPE``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .._version import __version__

__all__ = ["EXIT_BROKEN_PIPE", "build_parser", "main"]

#: Exit status when the reader of our output went away (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141

# command -> (module relative to this package, one-line help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (".demo", "run an instrumented demo service with metrics, traces and probes"),
    "check": (".check", "check the monitoring configuration against an environment's rules"),
    "doctor": (".doctor", "report the Python, package, optional extras and backend in use"),
    "slo": (".slo", "SLOs as code: Prometheus rules from our, Sloth or OpenSLO specs; check"),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``lexigram-monitor`` argument parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="python -m lexigram.monitor",
        description="lexigram-monitor: metrics, tracing and health probes for Python services.",
    )
    parser.add_argument("--version", action="version", version=f"lexigram-monitor {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name, (module_name, summary) in _COMMANDS.items():
        module = importlib.import_module(module_name, __name__)
        sub = commands.add_parser(name, help=summary, description=summary)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse *argv* (default ``sys.argv[1:]``), run the command, return its exit code."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        code: int = args._run(args)
        sys.stdout.flush()  # a broken pipe shows here, not at interpreter exit
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush of what is still
    buffered does not report the broken pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass
