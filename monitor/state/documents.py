"""Detectors' documents (chains, rate baselines, windows, bursts) held decoded in the fact cache.

Why: the write-back cache made every state read a dictionary lookup, but each detector still
decoded its JSON document on every assumption and encoded it again right after, for a row
written once per checkpoint anyway. A fact row may now hold a :class:`Doc`, the value as the
detectors use it: decoded at most once per batch (between two checkpoints) and shared by every
detector that reads it, encoded once, when the row is flushed at the checkpoint (or when
something reads the fact as text), and back to plain text after the commit (see
``_Cache.to_text``). What is stored, and when, is unchanged: the same text in the same
transaction as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Codec(Generic[T]):
    """How one namespace's documents become text and back; one instance per kind of document
    (a :class:`Doc` is reused only by the codec that made it)."""

    __slots__ = ("decode", "encode")

    def __init__(self, encode: Callable[[T], str], decode: Callable[[str], T]) -> None:
        self.encode = encode
        self.decode = decode


class Doc:
    """A fact's value held decoded; its text is made once, when first needed.

    The value is shared by every reader: whoever changes it must :meth:`StateStore.remember_doc`
    a new value (or a copy), never mutate the one it recalled.
    """

    __slots__ = ("_text", "codec", "value")

    def __init__(self, value: Any, codec: Codec[Any], text: str | None = None) -> None:
        self.value = value
        self.codec = codec
        self._text = text

    def text(self) -> str:
        if self._text is None:
            self._text = self.codec.encode(self.value)
        return self._text


def as_text(value: Any) -> str:
    """A fact row's value as stored: the text of a :class:`Doc`, else the value itself."""
    return value.text() if type(value) is Doc else str(value)
