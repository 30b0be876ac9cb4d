"""How much work one message may cost: bytes, JSON values, records, envelope nesting.

Why: work used to follow the *shape* of a message, not its size. A 64 KB gzip of
``{"Records":[[],[],…]}`` (63 MiB unpacked, under the byte limit) parsed into 22 million
Python lists (4.8 GB) and 22 million rejections; 346 bytes of 100k empty lists wrote 78k dead
letters. Now, before a document is parsed, its values are counted from its bytes (a C-speed
``bytes.count``, no copy), and a document over ``limits.max_elements`` values or
``limits.max_records_per_message`` entries is rejected whole: one rejection, an excerpt of it,
nothing parsed. Unpacked bytes are one budget for the whole message, nested gzip included
(a CloudWatch payload of many gzip messages cannot multiply it). Entries that are not records
are tallied: one rejection per reason and list, saying how many, never one per entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from monitor.config.settings import LimitsConfig

#: What a rejection carries of the input: enough to recognise it, never the whole message.
EXCERPT_BYTES = 4096


@dataclass(frozen=True)
class Limits:
    """The ``limits`` settings (set at startup by :func:`set_limits`)."""

    max_decompressed_bytes: int
    max_records_per_message: int
    max_elements: int
    max_nesting: int


#: Until a command sets them: the settings' defaults, so the two never disagree.
_limits = Limits(**LimitsConfig().model_dump())


def set_limits(limits: Limits) -> None:
    global _limits
    _limits = limits


def current() -> Limits:
    return _limits


class Overrun(Exception):
    """A document or message passes a limit: it is rejected as a whole."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class Budget:
    """What is left for one message (bytes unpacked are shared by its nested envelopes)."""

    limits: Limits = field(default_factory=current)
    unpacked: int = 0
    #: Values of the documents found inside other envelopes (gzip or base64 in a string).
    nested_elements: int = 0

    def bytes_left(self) -> int:
        return self.limits.max_decompressed_bytes - self.unpacked

    def spend_bytes(self, count: int) -> None:
        self.unpacked += count

    def check_elements(self, document: bytes, nested: bool) -> None:
        """Before parsing: at most ``max_elements`` JSON values (an upper bound from the bytes).

        Every value but a container's first follows a comma, and every container opens with a
        bracket, so commas + brackets + 1 bounds the values (commas inside strings only make
        the bound looser, and a real record has about one comma per 30 bytes).
        """
        limit = self.limits.max_elements
        if not nested and len(document) // 2 <= limit:
            return  # a value takes at least two bytes with its separator: cannot pass
        count = document.count(b",") + document.count(b"[") + document.count(b"{") + 1
        if nested:  # unpacked inside the message: one budget for all of them
            self.nested_elements += count
            count = self.nested_elements
        if count > limit:
            raise Overrun(
                "too_many_elements",
                f"about {count} JSON values, more than {limit} (limits.max_elements)",
            )

    def check_entries(self, count: int, what: str) -> None:
        limit = self.limits.max_records_per_message
        if count > limit:
            raise Overrun(
                "too_many_records",
                f"{what} has {count} entries, more than {limit} (limits.max_records_per_message)",
            )

    def check_depth(self, depth: int) -> None:
        if depth > self.limits.max_nesting:
            raise Overrun(
                "too_deep",
                f"envelopes nested more than {self.limits.max_nesting} deep (limits.max_nesting)",
            )


class Tally:
    """Rejected entries of one list: the first of each reason, and how many there were."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.first: dict[str, tuple[str, bytes]] = {}
        self.counts: dict[str, int] = {}

    def add(self, reason: str, detail: str, payload: bytes = b"") -> None:
        if reason not in self.first:
            self.first[reason] = (detail, payload[:EXCERPT_BYTES])
        self.counts[reason] = self.counts.get(reason, 0) + 1

    def summary(self) -> Iterator[tuple[str, str, bytes]]:
        """``(reason, detail, payload)`` once per reason."""
        for reason, (detail, payload) in self.first.items():
            count = self.counts[reason]
            if count > 1:
                detail = f"{count} {self.where} entries rejected, the first: {detail}"
            yield reason, detail, payload
