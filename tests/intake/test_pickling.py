"""Events cross from ``replay --jobs`` readers to the pipeline pickled: they arrive whole
(monitor/intake/pickling.py)."""

from __future__ import annotations

import pickle
from dataclasses import fields

from helpers import CORPUS

from monitor.intake.envelopes import Record, decode
from monitor.intake.events import RoleEvent
from monitor.intake.normalize import normalize
from monitor.service.replay_feed import Chunk
from monitor.sources.files import Message


def corpus_events() -> list[RoleEvent]:
    found = []
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file() and not path.name.endswith((".txt", ".md")):
            for item in decode(path.read_bytes()):
                if isinstance(item, Record) and isinstance(
                    event := normalize(item.data), RoleEvent
                ):
                    found.append(event)
    return found


def test_every_corpus_event_arrives_with_every_field() -> None:
    events = corpus_events()
    assert len(events) >= 20
    assert any(event.federation for event in events) and any(event.session_tags for event in events)
    chunk = Chunk(Message(b"{}", "day.jsonl", 7), 2, tuple(events))
    arrived = pickle.loads(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
    assert arrived == chunk
    for sent, got in zip(events, arrived.events, strict=True):
        for field in fields(RoleEvent):
            assert getattr(got, field.name) == getattr(sent, field.name), field.name
