"""``python -m bench.front_door``: the front door's parse against the byte pre-filter, side by
side in one process (monitor/intake/front_door.py).

The messages are the Kafka rows' stream of ``make bench`` (one record a message, 10 % STS by
default). For each message both ways answer the same question, "skip it, or what records does
it hold": the byte pre-filter then, unless it skips, the decoder (what every message cost
before), and ``records_of`` (a parse of the one record, then the scope check). It prints the
microseconds per message for the messages skipped and for those read, the best of several
rounds each, and their ratios. Both ways' answers are compared first: a door that answers
differently has no speed worth printing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

import orjson

from bench.generate import Generator, StreamSpec
from monitor.intake.envelopes import Decoded, decode
from monitor.intake.front_door import records_of
from monitor.intake.scope import may_be_in_scope

Door = Callable[[bytes], object]


def before(payload: bytes) -> list[Decoded] | None:
    """The door before: the byte pre-filter, then the decoder for what it lets through."""
    return list(decode(payload)) if may_be_in_scope(payload) else None


def now(payload: bytes) -> list[Decoded] | None:
    decoded = records_of(payload)
    return None if decoded is None else list(decoded)


def per_message(door: Door, payloads: Sequence[bytes], rounds: int) -> float:
    """Microseconds a message, the best of ``rounds`` passes."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for payload in payloads:
            door(payload)
        best = min(best, time.perf_counter() - started)
    return best / len(payloads) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.front_door", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--sts-share", type=float, default=0.10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    spec = StreamSpec(records=args.records, sts_share=args.sts_share, principals=10_000)
    payloads = [orjson.dumps(record) for record in Generator(spec).records()]
    if any(before(payload) != now(payload) for payload in payloads):
        print("the two doors answer differently", file=sys.stderr)
        return 1
    skipped = [payload for payload in payloads if now(payload) is None]
    read = [payload for payload in payloads if now(payload) is not None]
    size = sum(map(len, payloads)) / len(payloads)
    print(
        f"{len(payloads):,} messages ({size:,.0f} B average): {len(skipped):,} skipped, "
        f"{len(read):,} read; µs a message, best of {args.rounds} rounds, side by side"
    )
    print("| messages | pre-filter, then decode | records_of | ratio |")
    print("|---|---|---|---|")
    for label, group in (("skipped", skipped), ("read", read), ("all", payloads)):
        old = per_message(before, group, args.rounds)
        new = per_message(now, group, args.rounds)
        print(f"| {label} | {old:.2f} | {new:.2f} | {old / new:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
