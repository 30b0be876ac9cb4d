"""Documents held decoded in the fact cache: decoded once, encoded once per checkpoint, and
stored exactly as the text they always were (durable only at commit, gone with a rollback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors.growth import ACCOUNTS
from detectors.rates import BASELINE, Baseline
from detectors.sessions import CHAIN, Chain
from detectors.windows import BURST, SIGHTINGS
from monitor.state.documents import Codec
from monitor.state.store import StateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


class Counting:
    """A codec of dict documents that counts its encodes and decodes."""

    def __init__(self) -> None:
        self.encoded = 0
        self.decoded = 0
        self.codec: Codec[dict[str, int]] = Codec(self.encode, self.decode)

    def encode(self, value: dict[str, int]) -> str:
        self.encoded += 1
        return orjson.dumps(value).decode()

    def decode(self, text: str) -> dict[str, int]:
        self.decoded += 1
        return dict(orjson.loads(text))


def _where(tmp_path: Path, backend: str) -> str:
    return str(tmp_path / "s.db") if backend == "sqlite" else ":memory:"


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
def test_a_document_is_encoded_once_per_checkpoint_and_stored_as_text(
    tmp_path: Path, backend: str
) -> None:
    counting = Counting()
    store = StateStore(_where(tmp_path, backend))
    for n in range(5):
        store.remember_doc("rate", ["role-a", "role-b"], {"count": n}, T0 + DAY, counting.codec)
        assert store.recall_doc("rate", "role-a", T0, counting.codec) == {"count": n}
    assert (counting.encoded, counting.decoded) == (0, 0)
    # Another reader of the same fact (as slow enumeration reads the burst gate) sees text.
    assert store.recall("rate", "role-b", T0) == '{"count":4}'
    store.commit()
    assert counting.encoded == 1  # two keys, five writes: one document, encoded once
    # The next batch decodes it again, once, whoever reads it.
    assert store.recall_doc("rate", "role-b", T0, counting.codec) == {"count": 4}
    assert store.recall_doc("rate", "role-b", T0, counting.codec) == {"count": 4}
    assert counting.decoded == 1
    if backend == "sqlite":
        store.close()
        reopened = StateStore(tmp_path / "s.db")
        assert reopened.recall("rate", "role-a", T0) == '{"count":4}'
        assert reopened.recall_doc("rate", "role-a", T0, counting.codec) == {"count": 4}
        assert reopened.recall_doc("rate", "role-a", T0, counting.codec) == {"count": 4}
        assert counting.decoded == 2  # read back once, then held decoded


def test_text_written_before_is_read_as_a_document() -> None:
    counting = Counting()
    store = StateStore()
    store.remember("rate", "role", '{"count": 7}', T0 + DAY)
    assert store.recall_doc("rate", "role", T0, counting.codec) == {"count": 7}
    store.commit()
    assert counting.encoded == 0  # held with its text: nothing to encode again
    assert store.recall("rate", "role", T0) == '{"count": 7}'


def test_between_checkpoints_the_cache_holds_text_only() -> None:
    """Decoded documents live for one batch: after the commit every fact row is plain text, so
    the cache the garbage collector walks does not grow with the sessions held."""
    counting = Counting()
    store = StateStore()
    store.remember_doc("chain", ["written"], {"depth": 1}, T0 + DAY, counting.codec)
    store.remember("chain", "read", '{"depth": 2}', T0 + DAY)
    assert store.recall_doc("chain", "read", T0, counting.codec) == {"depth": 2}
    store.commit()
    values = [row[0] for row in store._cache.rows["fact"].values() if row is not None]
    assert values == ['{"depth":1}', '{"depth": 2}']


def test_a_document_expires_as_a_fact_does() -> None:
    counting = Counting()
    store = StateStore()
    store.remember_doc("burst", ["p"], {"n": 1}, T0 + DAY, counting.codec)
    assert store.recall_doc("burst", "p", T0 + DAY - timedelta(seconds=1), counting.codec)
    assert store.recall_doc("burst", "p", T0 + DAY, counting.codec) is None
    assert store.recall("burst", "p", T0 + DAY) is None
    store.prune(T0, now=T0 + 2 * DAY)
    assert store.recall_doc("burst", "p", T0, counting.codec) is None


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
def test_rollback_forgets_uncommitted_documents(tmp_path: Path, backend: str) -> None:
    counting = Counting()
    store = StateStore(_where(tmp_path, backend))
    store.remember_doc("chain", ["s"], {"depth": 1}, T0 + DAY, counting.codec)
    store.commit()
    store.remember_doc("chain", ["s"], {"depth": 2}, T0 + DAY, counting.codec)
    store.remember_doc("chain", ["t"], {"depth": 1}, T0 + DAY, counting.codec)
    store.rollback()  # a crash before the checkpoint: the work is repeated from the last one
    assert store.recall_doc("chain", "s", T0, counting.codec) == {"depth": 1}
    assert store.recall_doc("chain", "t", T0, counting.codec) is None


def test_a_document_of_another_codec_is_decoded_from_its_text() -> None:
    first, second = Counting(), Counting()
    store = StateStore()
    store.remember_doc("ns", ["k"], {"a": 1}, T0 + DAY, first.codec)
    assert store.recall_doc("ns", "k", T0, second.codec) == {"a": 1}
    assert (first.encoded, second.decoded) == (1, 1)


# -- the detectors' codecs: a document held decoded is the one read back from its text ------------

texts = st.text(max_size=40)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
seconds = st.floats(min_value=0, max_value=4e9, allow_nan=False)


def _round_trips(codec: Codec[object], value: object) -> None:
    """Decoding the text gives an equal value whose text is the same again: so findings and
    state are the same whether a detector reads its document back or keeps it decoded."""
    text = codec.encode(value)
    again = codec.decode(text)
    assert again == value
    assert codec.encode(again) == text


@given(
    st.builds(
        Chain,
        depth=st.integers(0, 50),
        accounts=st.lists(texts, max_size=5).map(tuple),
        roles=st.lists(texts, max_size=5).map(tuple),
        event_ids=st.lists(texts, max_size=5).map(tuple),
        complete=st.booleans(),
    )
)
def test_chains_round_trip(chain: Chain) -> None:
    _round_trips(CHAIN, chain)


@given(
    st.builds(
        Baseline,
        bucket=seconds,
        count=st.integers(0, 10**6),
        average=st.floats(min_value=0, max_value=1e6),
        since=seconds,
        slots=st.dictionaries(
            texts, st.tuples(st.floats(0, 1e6), st.integers(0, 10**4)).map(list), max_size=5
        ),
    )
)
def test_rate_baselines_round_trip(baseline: Baseline) -> None:
    _round_trips(BASELINE, baseline)


@given(st.tuples(moments, moments))
def test_bursts_round_trip(burst: tuple[datetime, datetime]) -> None:
    _round_trips(BURST, burst)


@given(st.dictionaries(texts, moments, max_size=10))
def test_distinct_windows_round_trip(seen: dict[str, datetime]) -> None:
    _round_trips(SIGHTINGS, seen)


@given(st.dictionaries(texts, seconds, max_size=12))
def test_hub_reach_round_trips(accounts: dict[str, float]) -> None:
    _round_trips(ACCOUNTS, accounts)


def test_a_rolled_copy_of_a_rate_baseline_leaves_the_shared_one_as_it_was() -> None:
    """A recalled baseline is the cache's own (documents are shared, never changed in place):
    the copy a detector rolls into the next bucket must not fold into its slots."""
    from detectors.rates import RateOptions

    shared = Baseline(bucket=0.0, count=30, average=2.0, since=0.0, slots={"x": [1.0, 1]})
    before = BASELINE.encode(shared)
    rolled = shared.copy()
    rolled.roll(7200.0, RateOptions())
    rolled.count += 1
    assert BASELINE.encode(shared) == before
    assert rolled.slots != shared.slots
