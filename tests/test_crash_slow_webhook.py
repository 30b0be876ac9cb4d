"""Issue 20's first figure: a webhook answering in 20 ms, 1,000 findings in one batch, SIGTERM
once 100 were accepted. The shutdown budget ends mid-delivery (a forced exit at 9 s); main
then re-sent the whole batch at restart (522 duplicates). Through the outbox the restart sends
only what was not taken: at most the one POST in flight at the forced exit repeats.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from kafka_service import Service, Setup, send, wait_until
from kafka_stream import expected_findings, sts_stream
from plugins.http_receiver import Receiver
from plugins.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka

FINDINGS = 1000


def posted_ids(receiver: Receiver) -> list[str]:
    """Finding ids of the accepted POSTs (from the fields, so any version's body works)."""
    ids = []
    for body in list(receiver.accepted):
        doc = json.loads(body)
        raw = f"{doc['detector']}\x00{doc['dedup_key']}\x00{doc['assumption_id']}"
        ids.append(hashlib.sha256(raw.encode()).hexdigest()[:32])  # Finding.finding_id
    return ids


def test_sigterm_mid_delivery_to_a_slow_webhook_repeats_at_most_one_post(
    kafka_broker: KafkaBroker, kafka_topic: str, tmp_path: Path, http_receiver: Receiver
) -> None:
    setup = Setup(kafka_broker.bootstrap, kafka_topic, tmp_path)
    kafka_broker.create_topic(setup.dead_letter_topic)
    http_receiver.delay = 0.02
    messages = sts_stream(0, FINDINGS, noise_every=10**9)
    expected = set(expected_findings(messages))
    send(setup.bootstrap, setup.topic, messages)
    webhook = {"webhook": {"url": http_receiver.url, "format": "generic"}}
    config = setup.config(commit_every=FINDINGS, commit_interval="5s", alerts=webhook)
    first = Service(config)
    try:
        wait_until(lambda: len(http_receiver.accepted) >= 100, 120, "100 accepted POSTs")
        assert first.stop(timeout=30)[0] == 0
    finally:
        first.ensure_stopped()
    sent_before = len(http_receiver.accepted)
    restarted = Service(config, name="a2")
    try:
        wait_until(
            lambda: set(posted_ids(http_receiver)) == expected and setup.all_committed(),
            180,
            "every finding after the restart",
        )
        assert restarted.stop(timeout=30)[0] == 0
    finally:
        restarted.ensure_stopped()
    ids = posted_ids(http_receiver)
    repeats = sum(n - 1 for n in Counter(ids).values())
    print(f"\nposted before the restart {sent_before}, in all {len(ids)}, repeats {repeats}")
    assert set(ids) == expected
    assert repeats <= 1
