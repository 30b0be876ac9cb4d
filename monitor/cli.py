"""``role-monitor``: replay files, run the Kafka consumer, list detectors, report role posture.

Exit status: 0 when the input was processed (rejected records are counted, not fatal),
2 with a one-line message for a usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from monitor import __version__

EXIT_USAGE = 2

Command = Callable[[argparse.Namespace], int]

ENVIRONMENT = """\
environment:
  ROLE_MONITOR_<SECTION>__<KEY>  overrides <section>.<key> of the --config file, e.g.
                                 ROLE_MONITOR_KAFKA__BOOTSTRAP_SERVERS=broker:9092 (lists
                                 comma-separated, mappings as JSON, "null" for none); an
                                 unknown ROLE_MONITOR_* variable is reported as a warning
  AWS_* (AWS_PROFILE, AWS_REGION, ...)  credentials for live IAM, Organizations, SNS, MSK IAM"""

EXIT_CODES = """\
exit status:
  0  done (rejected input is counted in the summary, not fatal)
  1  {one}
  2  usage or configuration error, one line naming the file and line (or the variable) and key
  130  interrupted (Ctrl-C)"""

RUN_SIGNALS = """\
signals:
  SIGTERM, SIGINT  finish the batch in hand (deliver, commit state and offsets), exit 0
ports:
  metrics.port (default 9464)  / (links), /metrics, /healthz (liveness), /readyz (readiness)"""

#: Per command: what exit status 1 means, and extra epilog sections.
EPILOGS: dict[str, tuple[str, str]] = {
    "run": ("an unexpected failure (a traceback follows: please report it)", RUN_SIGNALS),
    "produce": ("some records were not acknowledged by the broker", ""),
    "config": ("configuration valid, with warnings", ""),
}
DEFAULT_ONE = "an unexpected failure (a traceback follows: please report it)"
INTERRUPT_HINT = "signals:\n  SIGINT (Ctrl-C)  stops; nothing is committed that was not finished"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from monitor.config.settings import (  # after parsing: --help needs no pydantic
        ConfigError,
        locate,
    )

    try:
        handler: Command = args.handler
        return handler(args)
    except ConfigError as exc:
        message = str(exc) if exc.located else locate(str(exc))
        print(f"role-monitor: error: {' '.join(message.split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `role-monitor ... | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    from monitor.commands import register_all

    parser = argparse.ArgumentParser(
        prog="role-monitor",
        description="Watch AWS STS role assumptions for cross-account, federated and "
        "break-glass anomalies.",
        epilog=f"{ENVIRONMENT}\n\n{EXIT_CODES.format(one=DEFAULT_ONE)}\n\n"
        "'role-monitor COMMAND --help' describes each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_all(commands)
    for name, sub in commands.choices.items():
        describe(name, sub)
    return parser


def describe(name: str, parser: argparse.ArgumentParser) -> None:
    """Description (the command module's docstring) and epilog for one subcommand.

    Done here, once, so every command gets them without each module repeating the text.
    """
    handler = parser.get_default("handler")
    module = sys.modules.get(getattr(handler, "__module__", ""))
    if parser.description is None and module is not None and module.__doc__:
        parser.description = module.__doc__.strip()
    one, extra = EPILOGS.get(name, (DEFAULT_ONE, ""))
    sections = [ENVIRONMENT, extra or INTERRUPT_HINT, EXIT_CODES.format(one=one)]
    if parser.epilog is None:
        parser.epilog = "\n\n".join(sections)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in parser._actions:  # `config check` gets what `config` has
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                describe(name, sub)


if __name__ == "__main__":
    sys.exit(main())
