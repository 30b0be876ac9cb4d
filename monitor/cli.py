"""``role-monitor``: replay files, run the Kafka consumer, list detectors, report role posture.

Exit status: 0 when the input was processed (rejected records are counted, not fatal),
2 with a one-line message for a usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from monitor.config import ConfigError

EXIT_USAGE = 2

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler: Command = args.handler
        return handler(args)
    except ConfigError as exc:
        print(f"role-monitor: error: {exc}", file=sys.stderr)
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
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_all(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
