"""Break-even: your traffic on your own GPUs against the same traffic on each API.

The fleet is sized for the busiest hour (GPUs are rented around the clock, so the quiet hours
are paid for too); API bills are priced by genai-prices through ``tokenomy.pricing.Pricer``
at today's prices, with cache reads at the cache-read rate. The cross-over is the daily token
volume, at the workload's mix, where one self-hosted replica costs what the API bill does;
above it the fleet grows in steps while the API bill grows in a straight line.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from tokenomy.selfhost.perf_model import Estimate, serving_estimate
from tokenomy.selfhost.speculative import Speculation

if TYPE_CHECKING:
    from tokenomy.calls import Call
    from tokenomy.pricing import Pricer

__all__ = ["HOURS_PER_MONTH", "ApiCost", "BreakEven", "Workload", "break_even"]

HOURS_PER_MONTH = 730.0  # 365 x 24 / 12
_DAYS_PER_MONTH = HOURS_PER_MONTH / 24


@dataclass(frozen=True, slots=True)
class Workload:
    """Traffic to serve: tokens per day, their mix, request shape and hour-of-day pattern."""

    input_tokens_per_day: float  # every prompt token, cached or not
    output_tokens_per_day: float
    cached_share: float = 0.0  # share of input tokens an API would bill as cache reads
    input_len: int = 1024  # mean prompt tokens per request
    output_len: int = 256  # mean output tokens per request
    hourly: tuple[float, ...] = field(default=(1 / 24,) * 24)  # share of tokens by UTC hour
    models: tuple[tuple[str, float], ...] = ()  # API models seen, with their token share
    days: float = 1.0  # days of history it was measured over

    def __post_init__(self) -> None:
        if self.input_tokens_per_day < 0 or self.output_tokens_per_day <= 0:
            raise ValueError("a workload needs output tokens per day > 0 and input >= 0")
        if len(self.hourly) != 24 or abs(sum(self.hourly) - 1) > 1e-6:
            raise ValueError("hourly must be 24 shares that add up to 1")
        if not 0 <= self.cached_share <= 1:
            raise ValueError("cached_share must be in [0, 1]")

    @property
    def peak_factor(self) -> float:
        """Busiest hour's rate over the daily mean rate (1 for flat traffic)."""
        return max(self.hourly) * 24

    @classmethod
    def by_hand(
        cls,
        tokens_per_day: float,
        output_share: float = 0.2,
        input_len: int = 1024,
        output_len: int = 256,
        cached_share: float = 0.0,
        peak_factor: float = 1.0,
    ) -> Workload:
        """A profile given by hand; ``peak_factor`` > 1 puts that much traffic in a peak
        that lasts a third of the day (business hours)."""
        if not 0 < output_share < 1:
            raise ValueError("output_share must be in (0, 1)")
        if not 1 <= peak_factor <= 3:
            raise ValueError("peak_factor must be in [1, 3] (3 = all traffic in 8 hours)")
        busy = peak_factor / 24
        quiet = (1 - 8 * busy) / 16
        hourly = tuple(busy if 8 <= h < 16 else quiet for h in range(24))
        return cls(
            tokens_per_day * (1 - output_share),
            tokens_per_day * output_share,
            cached_share,
            input_len,
            output_len,
            hourly,
        )

    @classmethod
    def from_calls(cls, calls: Iterable[Call]) -> Workload:
        """Measure a workload from call records (a ledger, a source, any list of Call)."""
        prompt = output = cached = n = 0
        by_hour = [0.0] * 24
        models: Counter[str] = Counter()
        days: set[object] = set()
        first: datetime | None = None
        last: datetime | None = None
        for call in calls:
            n += 1
            prompt += call.prompt
            cached += call.cache_read
            output += call.output
            by_hour[call.time.astimezone(UTC).hour] += call.total
            models[call.model] += call.total
            days.add(call.time.date())
            first = call.time if first is None or call.time < first else first
            last = call.time if last is None or call.time > last else last
        if n == 0 or output == 0:
            raise ValueError("no calls with output tokens to measure a workload from")
        assert first is not None and last is not None
        # Days of history: calendar days with traffic, or the span, whichever is larger.
        span = max(len(days), (last - first).total_seconds() / 86400)
        total = sum(by_hour)
        return cls(
            prompt / span,
            output / span,
            cached / prompt if prompt else 0.0,
            max(1, round(prompt / n)),
            max(1, round(output / n)),
            tuple(h / total for h in by_hour),
            tuple((m, t / total) for m, t in models.most_common()),
            span,
        )


@dataclass(frozen=True, slots=True)
class ApiCost:
    model: str
    monthly: Decimal | None  # None: genai-prices does not know the model
    per_million_tokens: Decimal | None  # at the workload's mix
    crossover_tokens_per_day: float | None  # None: self-hosting never gets cheaper
    self_host_cheaper: bool


@dataclass(frozen=True, slots=True)
class BreakEven:
    workload: Workload
    estimate: Estimate  # one replica at the chosen concurrency
    replicas: int
    gpus: int
    monthly_self_host: Decimal
    utilisation: float  # mean load over fleet capacity
    apis: list[ApiCost]
    replica_monthly: Decimal = Decimal(0)  # one replica rented around the clock
    replica_tokens_per_day: float = 0.0  # what one replica serves a day at this traffic shape

    def curve_top(self) -> float:
        """Enough daily volume to show the user's own, two replicas and every cross-over."""
        per_day = self.workload.input_tokens_per_day + self.workload.output_tokens_per_day
        crossings = [a.crossover_tokens_per_day or 0.0 for a in self.apis]
        return max(2 * per_day, 2.5 * self.replica_tokens_per_day, 1.5 * max(crossings, default=0))

    def curve(self, top: float | None = None, points: int = 121) -> list[dict[str, object]]:
        """Monthly cost against daily token volume (at the workload's mix and hourly pattern):
        the self-hosted fleet in steps of one replica, each API in a straight line, from half
        the user's own volume (at most ``top`` / 10^4) to ``top`` tokens a day (default
        ``curve_top()``), spaced evenly on a log scale, as the report draws it."""
        top = top or self.curve_top()
        per_day = self.workload.input_tokens_per_day + self.workload.output_tokens_per_day
        bottom = max(1.0, min(per_day / 2 if per_day > 0 else top, top / 1e4))
        rows: list[dict[str, object]] = []
        for k in range(points):
            volume = round(bottom * (top / bottom) ** (k / (points - 1)))
            replicas = max(1, math.ceil(volume / self.replica_tokens_per_day))
            row: dict[str, object] = {
                "tokens_per_day": volume,
                "self_host_monthly": float(self.replica_monthly) * replicas,
            }
            for a in self.apis:
                if a.per_million_tokens is not None:
                    monthly = float(a.per_million_tokens) * volume / 1e6 * _DAYS_PER_MONTH
                    row[a.model] = round(monthly, 2)
            rows.append(row)
        return rows

    def as_rows(self) -> list[dict[str, object]]:
        return [
            {
                "api_model": a.model,
                "api_monthly": a.monthly,
                "self_host_monthly": self.monthly_self_host,
                "gpus": self.gpus,
                "api_per_m_tokens": a.per_million_tokens,
                "crossover_tokens_per_day": (
                    None
                    if a.crossover_tokens_per_day is None
                    else round(a.crossover_tokens_per_day)
                ),
                "cheaper": ("self-host" if a.self_host_cheaper else "API") if a.monthly else "-",
            }
            for a in self.apis
        ]


def _money(x: float) -> Decimal:
    return Decimal(f"{x:.2f}")


def break_even(
    workload: Workload,
    model: str,
    gpu: str,
    gpus: int = 1,
    *,
    api_models: Sequence[str] = (),
    precision: str = "",
    speculation: Speculation | None = None,
    price_per_hour: float | None = None,
    min_tps_per_user: float | None = None,
    pricer: Pricer | None = None,
    prefix_cache: bool = True,
    engine: str | None = None,
    kv_precision: str = "",
    attention_parallel: str = "tp",
    experts: str = "auto",
) -> BreakEven:
    """Size a fleet of ``gpus``-GPU replicas for ``workload`` and compare it with APIs.

    ``prefix_cache``: the engine's prefix cache serves the same share of prompts that the API
    billed as cache reads (vLLM and SGLang cache prefixes by default), so only the rest is
    prefilled; off, every prompt token is prefilled."""
    from tokenomy.pricing import Pricer

    est = serving_estimate(
        model,
        gpu,
        gpus,
        precision=precision,
        input_len=workload.input_len,
        output_len=workload.output_len,
        min_tps_per_user=min_tps_per_user,
        speculation=speculation,
        price_per_hour=price_per_hour,
        prefix_hit=min(workload.cached_share, 0.99) if prefix_cache else 0.0,
        engine=engine,
        kv_precision=kv_precision,
        attention_parallel=attention_parallel,
        experts=experts,
    )
    # One replica serves output_tps output tokens/s (its input ride along at the same mix).
    peak_output_tps = workload.output_tokens_per_day / 86400 * workload.peak_factor
    replicas = max(1, math.ceil(peak_output_tps / est.output_tps))
    replica_month = est.cost_per_hour * HOURS_PER_MONTH
    monthly = replica_month * replicas
    utilisation = workload.output_tokens_per_day / 86400 / (replicas * est.output_tps)
    # Self-hosting's cost per token with the fleet kept as full as the hourly pattern allows.
    tokens_per_replica_day = (
        est.output_tps
        * 86400
        / workload.peak_factor
        * (1 + workload.input_tokens_per_day / workload.output_tokens_per_day)
    )
    marginal = replica_month / _DAYS_PER_MONTH / tokens_per_replica_day
    pricer = pricer or Pricer()
    day_tokens = workload.input_tokens_per_day + workload.output_tokens_per_day
    now = datetime.now(UTC)
    apis: list[ApiCost] = []
    for name in api_models or [m for m, _ in workload.models[:3]]:
        fresh = workload.input_tokens_per_day * (1 - workload.cached_share)
        cost = pricer.cost(
            name,
            now,
            input=round(fresh),
            cache_read=round(workload.input_tokens_per_day - fresh),
            output=round(workload.output_tokens_per_day),
        )
        if cost is None:
            apis.append(ApiCost(name, None, None, None, False))
            continue
        per_token = float(cost) / day_tokens
        crossover = replica_month / _DAYS_PER_MONTH / per_token if per_token > marginal else None
        api_month = float(cost) * _DAYS_PER_MONTH
        apis.append(
            ApiCost(
                name,
                _money(api_month),
                Decimal(f"{per_token * 1e6:.4f}"),
                crossover,
                monthly < api_month,
            )
        )
    return BreakEven(
        workload,
        est,
        replicas,
        replicas * gpus,
        _money(monthly),
        utilisation,
        apis,
        _money(replica_month),
        tokens_per_replica_day,
    )
