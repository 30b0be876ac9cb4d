"""Rate anomalies: a role or an identity provider used far more than its own baseline.

Counts go into event-time buckets (hourly by default). When a bucket closes its count is
folded into two baselines kept in state with the open bucket: an exponentially weighted moving
average (EWMA) over every bucket, where empty buckets decay it, and one average per slot of the
week, the hour of day on weekdays and on weekends. A bucket is compared with its own slot (a
Monday at 09:00 with earlier weekdays at 09:00, not with the weekend that just decayed the
EWMA), or with the EWMA while its slot has no history yet. A bucket fires once, when its count
crosses ``max(min_count, factor x expected, expected + min_excess)``: the absolute excess keeps
a busy-but-ordinary hour of a large key from firing on ratios alone. Only successful calls
count: failures can name any role or provider the caller likes.

**Episodes, not hours.** A spike that lasts (a DR game day, a replayed token farming sessions
all afternoon) crosses the threshold in every bucket. It is one finding per episode: an episode
opens with the first crossing and stays open while crossings follow each other less than two
buckets apart. Role and provider anomalies of one cause share the episode: the causes of an
assumption are its role's account and, when federated, its identity provider, so a provider
spiking and the roles it spikes into, or a failover lighting up an account's roles, are one
finding, whichever crossed first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from pydantic import Field

from detectors import jsontext
from detectors.base import Applies, DetectionContext, Detector, NoOptions, short_role
from detectors.windows import BurstGate, human, learning
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.state.documents import Codec
from monitor.trust.enrich import EnrichedEvent

#: The state namespace both rate detectors keep their open episodes in, by cause.
EPISODES = "rate_episode"

#: Empty buckets folded into the slot averages after a gap, at most (two weeks of hours): past
#: that every slot has seen its zeros and the rest would only be work.
MAX_EMPTY_FOLDED = 14 * 24


class RateOptions(NoOptions):
    bucket: Duration = Field(default=timedelta(hours=1), description="Counting bucket.")
    factor: float = Field(default=5.0, gt=1, description="Times the baseline that is a spike.")
    min_count: int = Field(
        default=20, ge=1, description="A bucket at or below this count never fires."
    )
    min_excess: int = Field(
        default=20,
        ge=0,
        description="A bucket must exceed its expected count by at least this many to fire.",
    )
    week_aware: bool = Field(
        default=True,
        description="Compare each bucket with the same hour on weekdays or on weekends (its "
        "slot of the week) rather than with the decayed average of every bucket.",
    )
    alpha: float = Field(default=0.1, gt=0, le=1, description="EWMA weight of each closed bucket.")
    learning_period: Duration = Field(
        default=timedelta(days=7),
        description="History a key (and the monitor) needs before its spikes are reported.",
    )


@lru_cache(maxsize=4096)
def slot_of(bucket: float) -> str:
    """``weekday 09h`` / ``weekend 14h``: the slot of the week a bucket (unix start) is in.

    Remembered: every assumption asks for its open bucket's slot, and buckets are few."""
    at = datetime.fromtimestamp(bucket, tz=UTC)
    return f"{'weekend' if at.weekday() >= 5 else 'weekday'} {at.hour:02d}h"


@dataclass(slots=True)
class Baseline:
    """One key's rate state: the open bucket, the EWMA of closed ones, the slot averages."""

    bucket: float  # start of the open bucket, unix seconds
    count: int
    average: float
    since: float  # start of the key's first bucket
    #: slot → [average count, buckets seen]
    slots: dict[str, list[float]] = field(default_factory=dict)

    def to_json(self) -> str:
        # Spelled out: dataclasses.asdict deep-copies, and this runs twice per assumption.
        return jsontext.dumps(
            {
                "bucket": self.bucket,
                "count": self.count,
                "average": self.average,
                "since": self.since,
                "slots": self.slots,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Baseline:
        return cls(**jsontext.loads(text))

    def copy(self) -> Baseline:
        """A copy to change: the cached one is shared. The slots stay shared until
        :meth:`roll` folds into them (once a bucket, not at every assumption): it copies
        them first, and their lists are replaced, never changed in place."""
        return Baseline(self.bucket, self.count, self.average, self.since, self.slots)

    def expected(self, options: RateOptions) -> tuple[float, str | None, int]:
        """The usual count of the open bucket: (count, its slot or None for the EWMA, samples)."""
        if options.week_aware:
            slot = slot_of(self.bucket)
            seen = self.slots.get(slot)
            if seen is not None:
                return seen[0], slot, int(seen[1])
        return self.average, None, 0

    def threshold(self, options: RateOptions) -> float:
        expected = self.expected(options)[0]
        return max(
            float(options.min_count), options.factor * expected, expected + options.min_excess
        )

    def roll(self, bucket: float, options: RateOptions) -> None:
        """Close the open bucket and move to ``bucket``, decaying over the empty ones.

        A closed bucket counts at most its threshold, so one spike cannot teach the baseline
        that spikes are normal.
        """
        size = options.bucket.total_seconds()
        closed = min(float(self.count), self.threshold(options))
        self.average += options.alpha * (closed - self.average)
        empty = max(round((bucket - self.bucket) / size) - 1, 0)
        self.average *= (1 - options.alpha) ** empty
        if options.week_aware:
            self.slots = dict(self.slots)  # shared with the cached baseline (see copy)
            self._fold(self.bucket, closed, options)
            for n in range(1, min(empty, MAX_EMPTY_FOLDED) + 1):
                self._fold(self.bucket + n * size, 0.0, options)
        self.bucket, self.count = bucket, 0

    def _fold(self, bucket: float, count: float, options: RateOptions) -> None:
        """A plain mean for a slot's first 1/alpha buckets, then an EWMA: a new slot's first
        sample is not drowned by the zero an EWMA would start from."""
        slot = slot_of(bucket)
        average, seen = self.slots.get(slot, [0.0, 0])
        seen += 1
        weight = max(options.alpha, 1 / seen)
        self.slots[slot] = [round(average + weight * (count - average), 4), seen]


#: Baselines kept decoded in the state's cache (see monitor/state/documents.py).
BASELINE: Codec[Baseline] = Codec(Baseline.to_json, Baseline.from_json)


class RateAnomaly(Detector):
    """Base of the rate detectors: subclasses say which key an event counts for."""

    severity = Severity.MEDIUM
    needs = ("state (EWMA per key, open episodes)",)
    Options = RateOptions
    dedup_by = "cause (provider, else role) and episode start"
    options: RateOptions

    def key(self, ev: EnrichedEvent) -> str | None:
        raise NotImplementedError

    def title(self, ev: EnrichedEvent, count: int, baseline: Baseline) -> str:
        raise NotImplementedError

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        key = self.key(ev) if ev.event.succeeded else None
        if key is None:
            return
        at = ev.event.event_time
        size = self.options.bucket.total_seconds()
        bucket = math.floor(at.timestamp() / size) * size
        baseline = self._load(ctx, key, bucket)
        if bucket < baseline.bucket:
            return  # a late event for a bucket already closed
        if bucket > baseline.bucket:
            baseline.roll(bucket, self.options)
        baseline.count += 1
        threshold = baseline.threshold(self.options)
        self._save(ctx, key, baseline, at)
        crossed = baseline.count > threshold >= baseline.count - 1
        if not crossed or self._learning(ctx, baseline, at):
            return
        episode = BurstGate(EPISODES, 2 * self.options.bucket)
        causes = episode_causes(ev)
        # Every cause is looked at (and an open one kept open), not only up to the first.
        if [cause for cause in causes if episode.holding(ctx.state, cause, at)]:
            return  # this episode was reported when it opened
        start = datetime.fromtimestamp(bucket, tz=UTC)
        for cause in causes:
            episode.open(ctx.state, cause, start, at)
        yield self._finding(ev, key, baseline, threshold, causes[0], start)

    def _learning(self, ctx: DetectionContext, baseline: Baseline, at: datetime) -> bool:
        period = self.options.learning_period
        own = at.timestamp() - baseline.since < period.total_seconds()
        return own or learning(ctx, period, at)

    def _finding(
        self,
        ev: EnrichedEvent,
        key: str,
        baseline: Baseline,
        threshold: float,
        cause: str,
        episode: datetime,
    ) -> Finding:
        start = datetime.fromtimestamp(baseline.bucket, tz=UTC)
        expected, slot, samples = baseline.expected(self.options)
        return self.finding(
            ev,
            f"{self.title(ev, baseline.count, baseline)} (usually {usual(expected, slot)})",
            {
                "key": key,
                "count": baseline.count,
                "expected": round(expected, 3),
                "expected_from": f"{slot} ({samples} buckets)" if slot else "EWMA of all buckets",
                "baseline_average": round(baseline.average, 3),
                "threshold": round(threshold, 3),
                "min_excess": self.options.min_excess,
                "bucket_start": start.isoformat(),
                "bucket": human(self.options.bucket),
                "history_since": datetime.fromtimestamp(baseline.since, tz=UTC).isoformat(),
                "episode_cause": cause,
                "episode_start": episode.isoformat(),
            },
            dedup=f"{cause}@{episode.isoformat()}",
        )

    def _load(self, ctx: DetectionContext, key: str, bucket: float) -> Baseline:
        stored = ctx.state.recall_doc(self.id, key, ctx.now, BASELINE)
        if stored is None:
            return Baseline(bucket=bucket, count=0, average=0.0, since=bucket)
        return stored.copy()

    def _save(self, ctx: DetectionContext, key: str, baseline: Baseline, at: datetime) -> None:
        # Kept as long as any state: a key unused for the retention period relearns.
        expires = at + ctx.settings.state.retention
        ctx.state.remember_doc(self.id, (key,), baseline, expires, BASELINE)


def episode_causes(ev: EnrichedEvent) -> list[str]:
    """What a spike is counted against: the identity provider of a federated assumption (one
    provider's spike reaches many roles), and the role's account (a game day or a failover
    lights up many roles of one account at once, federated or not)."""
    causes = []
    federation = ev.event.federation
    if federation is not None and federation.provider_name:
        causes.append(f"provider:{federation.provider_name}")
    causes.append(f"account:{ev.event.role_account or ev.event.role_arn}")
    return causes


def usual(expected: float, slot: str | None) -> str:
    """``12.5 at weekday 09h`` or ``0.4 on average``: the baseline a finding was measured on."""
    return f"{expected:.1f} at {slot}" if slot else f"{expected:.1f} on average"


class RoleRateAnomaly(RateAnomaly):
    """A role was assumed far more often in one bucket than its own baseline says is usual.

    A spike in one role's sessions means a runaway job, credential stuffing of a web-identity
    role, or someone farming sessions. Keys need ``learning_period`` of history first, so a new
    role's first busy hour is not reported.

    **Episodes, not hours.** One finding per episode: it opens with the first bucket over the
    threshold and stays open while further buckets cross less than two buckets apart; role and
    provider anomalies of one cause (the role's account, and the provider of a federated
    assumption) share it, so ``provider_rate_anomaly`` does not fire again for the same spike.
    What an attacker can hide behind it: sessions farmed *during* an open episode of the same
    cause (a game day in that account, or their own earlier spike kept alive), and a second
    role of that account or provider spiking meanwhile. What they cannot: a spike in another
    account through another provider is its own episode, and two ordinary buckets in a row
    close the episode, so the next spike fires again.
    """

    id = "role_rate_anomaly"
    applies = Applies(succeeded=True, except_event_names=frozenset({"AssumeRoot"}))
    summary = (
        "A role's assumptions per bucket exceed max(min_count, factor x expected, expected + "
        "min_excess), expected from the same hour of weekdays or weekends."
    )

    def key(self, ev: EnrichedEvent) -> str | None:
        return ev.event.role_arn if ev.event.event_name != "AssumeRoot" else None

    def title(self, ev: EnrichedEvent, count: int, baseline: Baseline) -> str:
        return (
            f"{count} assumptions of {short_role(ev.event.role_arn)} within "
            f"{human(self.options.bucket)}"
        )


class ProviderRateAnomaly(RateAnomaly):
    """An identity provider issued far more sessions in one bucket than its own baseline.

    A spike of federated sessions (a leaked CI token replayed, a compromised IdP minting
    assertions, Cognito guests being farmed) shows per provider before it shows per role. One
    finding per episode, shared with ``role_rate_anomaly`` (see there): the provider is the
    cause of every federated spike, so its roles' anomalies merge into it.
    """

    id = "provider_rate_anomaly"
    applies = Applies(succeeded=True, federated=True)
    summary = (
        "An identity provider's federated sessions per bucket exceed max(min_count, factor x "
        "expected, expected + min_excess), expected from the same hour of the week's kind."
    )

    def key(self, ev: EnrichedEvent) -> str | None:
        federation = ev.event.federation
        return federation.provider_name if federation and federation.provider_name else None

    def title(self, ev: EnrichedEvent, count: int, baseline: Baseline) -> str:
        federation = ev.event.federation
        name = federation.provider_name if federation else "unknown"
        return f"{count} federated sessions through {name} within {human(self.options.bucket)}"
