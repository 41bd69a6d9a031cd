"""Prices from genai-prices, applied as the provider bills them.

genai-prices resolves a model reference, a provider, the request's timestamp and its context
(batch, priority, fast) to a ``ModelPrice``. Calling its ``calc_price`` costs ~0.35 ms, too slow
for a million calls, so we resolve each distinct (model, provider, tier, day) once and read off
its *rates*: dollars per million tokens of each kind, per long-context band. Cost is linear in
the token counts inside a band, so ``Rates.cost`` gives exactly what ``calc_price`` gives (a test
checks this on every real call in the fixtures). Bands follow genai-prices' threshold rule: once a
request's whole prompt crosses a tier, *all* its tokens are billed at that tier.

A model genai-prices does not know is *unpriced*: ``rates`` returns ``None`` and callers count it,
never price it at $0. A user's overrides file (TOML) adds or replaces prices:

    [models."my-finetune"]          # $ per million tokens
    input = 0.30
    output = 1.20
    cache_read = 0.03

    [aliases]
    "corp-proxy/sonnet" = "claude-sonnet-4-5"
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from tokenomy.calls import TOKEN_KINDS

__all__ = [
    "Band", "Overrides", "Pricer", "Rates", "normalised_name", "price_context_for",
    "suggest_alias",
]  # fmt: skip

MTOK = Decimal(1_000_000)
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Band:
    """Dollars per million tokens of each kind, for prompts larger than ``above`` tokens."""

    above: int
    input: Decimal
    cache_read: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    output: Decimal


@dataclass(frozen=True, slots=True)
class Rates:
    """A model's prices as billed on one day in one service tier."""

    model: str  # the model id genai-prices matched (or the override's name)
    provider: str
    bands: tuple[Band, ...]  # ascending by ``above``; the first has above=0
    per_request: Decimal = ZERO
    source: str = "genai-prices"

    def band(self, prompt: int) -> Band:
        chosen = self.bands[0]
        for band in self.bands[1:]:
            if prompt > band.above:
                chosen = band
        return chosen

    def cost(
        self,
        input: int = 0,
        cache_read: int = 0,
        cache_write_5m: int = 0,
        cache_write_1h: int = 0,
        output: int = 0,
    ) -> Decimal:
        b = self.band(input + cache_read + cache_write_5m + cache_write_1h)
        micro = (
            input * b.input
            + cache_read * b.cache_read
            + cache_write_5m * b.cache_write_5m
            + cache_write_1h * b.cache_write_1h
            + output * b.output
        )
        return micro / MTOK + self.per_request

    def least_cost(self, prompt: int) -> Decimal:
        """The least a prompt of ``prompt`` tokens can cost, whatever of it is cached and
        however short the answer: every token at the cheaper of the input and cache-read
        rates of the first band (a larger prompt's band is dearer, never cheaper)."""
        b = self.bands[0]
        rate = min(b.input, b.cache_read) if b.cache_read > 0 else b.input
        return prompt * rate / MTOK + self.per_request


def price_context_for(service_tier: str) -> dict[str, str] | None:
    """The genai-prices price context for a call's service tier."""
    tier = service_tier.lower()
    if tier in ("", "standard", "default", "auto", "on_demand"):
        return None
    if tier == "batch":
        return {"processing": "batch"}
    if tier == "fast":
        return {"speed": "fast"}
    return {"service_tier": tier}


@dataclass(slots=True)
class Overrides:
    """User prices (negotiated, self-hosted) and model aliases, from a TOML file."""

    models: dict[str, Rates] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""

    @classmethod
    def load(cls, path: Path) -> Overrides:
        raw = path.read_bytes()
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a valid TOML prices file: {exc}") from exc
        models: dict[str, Rates] = {}
        for name, spec in (data.get("models") or {}).items():
            models[name.lower()] = _rates_from_spec(name, spec, path)
        aliases = {str(k).lower(): str(v) for k, v in (data.get("aliases") or {}).items()}
        return cls(models, aliases, hashlib.sha256(raw).hexdigest()[:16])


def _rates_from_spec(name: str, spec: Any, path: Path) -> Rates:
    if not isinstance(spec, dict) or "input" not in spec or "output" not in spec:
        raise ValueError(f"{path}: [models.{name!r}] needs at least `input` and `output` ($/MTok)")

    def get(key: str, default: Decimal) -> Decimal:
        value = spec.get(key)
        return default if value is None else Decimal(str(value))

    inp = get("input", ZERO)
    band = Band(
        above=0,
        input=inp,
        cache_read=get("cache_read", inp),
        cache_write_5m=get("cache_write_5m", get("cache_write", inp)),
        cache_write_1h=get("cache_write_1h", get("cache_write", inp)),
        output=get("output", ZERO),
    )
    return Rates(
        name, str(spec.get("provider", "override")), (band,), source=f"override:{path.name}"
    )


@dataclass(slots=True)
class _Memo:
    """Day rates resolved on earlier runs, valid for one price fingerprint (JSON, never code)."""

    fingerprint: str
    rates: dict[str, Rates | None] = field(default_factory=dict)
    by_minute: dict[str, bool] = field(default_factory=dict)  # "model\x1fprovider" -> varies
    dirty: bool = False

    @classmethod
    def load(cls, path: Path | None, fingerprint: str) -> _Memo:
        memo = cls(fingerprint)
        if path is None:
            return memo
        try:
            data = json.loads(path.read_bytes())
            if data["fingerprint"] != fingerprint:
                return memo  # other prices: resolve again
            memo.by_minute = {str(k): bool(v) for k, v in data["by_minute"].items()}
            memo.rates = {str(k): _rates_from_json(v) for k, v in data["rates"].items()}
        except (OSError, ValueError, KeyError, TypeError, ArithmeticError):
            return cls(fingerprint)  # missing or damaged: start over, never fail on it
        return memo

    def remember(
        self, ref: str, provider: str, by_minute: bool, day: str, rates: Rates | None
    ) -> None:
        if self.rates.get(day, ...) != rates or f"{ref}\x1f{provider}" not in self.by_minute:
            self.by_minute[f"{ref}\x1f{provider}"] = by_minute
            self.rates[day] = rates
            self.dirty = True

    def save(self, path: Path) -> None:
        if not self.dirty:
            return
        data = {
            "fingerprint": self.fingerprint,
            "by_minute": self.by_minute,
            "rates": {k: _rates_to_json(v) for k, v in self.rates.items()},
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        with contextlib.suppress(OSError):  # a read-only home: the next run resolves again
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, path)
            self.dirty = False


def _rates_to_json(rates: Rates | None) -> Any:
    if rates is None:
        return None
    bands = [[b.above, *(str(getattr(b, k)) for k in TOKEN_KINDS)] for b in rates.bands]
    return [rates.model, rates.provider, str(rates.per_request), rates.source, bands]


def _rates_from_json(value: Any) -> Rates | None:
    if value is None:
        return None
    model, provider, per_request, source, bands = value
    return Rates(
        str(model), str(provider),
        tuple(Band(int(b[0]), *(Decimal(x) for x in b[1:6])) for b in bands),
        Decimal(per_request), str(source),
    )  # fmt: skip


class Pricer:
    """Resolves a call's model, provider, time and tier to ``Rates`` (cached) and prices it."""

    def __init__(self, overrides: Overrides | None = None, memo: Path | None = None) -> None:
        self.overrides = overrides or Overrides()
        # A JSON file of the day rates resolved on earlier runs (for these prices): a run that
        # only meets known models and days never imports genai-prices (~0.15 s). The ledgers
        # keep it in the user cache directory, shared by all of them: a new ledger's first
        # import reuses what any earlier one resolved.
        self.memo = memo
        self._memo: _Memo | None = None
        self._models: dict[tuple[str, str], Any] = {}  # (model, provider) -> (provider, model)
        self._rates: dict[tuple[str, str, str, Any], Rates | None] = {}
        self._by_day: dict[tuple[str, str, str, date], Rates | None] = {}  # (name, ..., day)
        self._by_minute: dict[str, bool] = {}  # model id -> priced by time of day

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever prices could change: the genai-prices version and the overrides."""
        from importlib.metadata import version  # cheaper than importing genai-prices' data

        overrides = self.overrides.fingerprint or "-"
        names = hashlib.sha256((Path(__file__).parent / "data" / "model_names.toml").read_bytes())
        return (
            f"genai-prices {version('genai-prices')}; overrides {overrides}; "
            f"names {names.hexdigest()[:8]}"
        )

    def memo_in(self, directory: Path) -> Path:
        """The memo file for these prices in ``directory``: one per fingerprint, so ledgers
        with other overrides never overwrite each other's."""
        digest = hashlib.sha256(self.fingerprint.encode()).hexdigest()[:12]
        return directory / f"rates-{digest}.json"

    def rates(
        self, model: str, provider: str = "", time: datetime | None = None, service_tier: str = ""
    ) -> Rates | None:
        """The rates that applied to ``model`` at ``time``; ``None`` if the model is unknown."""
        ref = self.overrides.aliases.get(model.lower(), model)
        if ref.lower() in self.overrides.models:
            return self.overrides.models[ref.lower()]
        when = time or datetime.now(UTC)
        # A hot path (a report prices call by call): rates known for this name and day are a
        # tuple-keyed lookup; the memo file and genai-prices are asked once per name and day.
        fast = (ref, provider, service_tier, when.date())
        if fast in self._by_day:
            return self._by_day[fast]
        memo = self._recall()
        day = "\x1f".join((ref, provider, service_tier, fast[3].isoformat()))
        if memo.by_minute.get(f"{ref}\x1f{provider}") is False and day in memo.rates:
            self._by_day[fast] = memo.rates[day]
            return memo.rates[day]
        found = self._lookup(ref, provider)
        if found is None:
            memo.remember(ref, provider, False, day, None)
            self._by_day[fast] = None
            return None
        found_provider, found_model = found
        # Prices change by date; a few (off-peak discounts) by time of day.
        by_minute = self._priced_by_minute(found_model)
        step = when.replace(second=0, microsecond=0) if by_minute else when.date()
        key = (found_provider.id, found_model.id, service_tier, step)
        if key not in self._rates:
            price = found_model.get_prices(when, price_context_for(service_tier))
            self._rates[key] = _rates_from_model_price(found_model.id, found_provider.id, price)
        if not by_minute:  # the day's rates hold all day: remembered here and on disk
            memo.remember(ref, provider, False, day, self._rates[key])
            self._by_day[fast] = self._rates[key]
        return self._rates[key]

    def save(self) -> None:
        """Keep the day rates resolved so far in ``memo`` for the next run."""
        if self.memo is not None and self._memo is not None:
            self._memo.save(self.memo)

    def _recall(self) -> _Memo:
        if self._memo is None:
            self._memo = _Memo.load(self.memo, self.fingerprint)
        return self._memo

    def batch_rates(self, model: str, provider: str, when: datetime) -> Rates | None:
        """What a call moved to the batch API would pay at ``when``; ``None`` if unknown.

        Stacking rules come from genai-prices' batch variants, which encode them per model
        (Anthropic: 50% of everything, cache reads and writes included; OpenAI: 50%, but older
        models such as gpt-4.1 keep the standard cached-input rate; Gemini: 50% on input and
        output, cached input at the standard rate). genai-prices has batch prices only from
        2026-10-12: for an earlier call the own-date standard rates are scaled by today's batch /
        standard ratio per token kind (an estimate, labelled so in ``Rates.source``). A model
        with no batch price today is not batchable and keeps its price.
        """
        standard = self.rates(model, provider, when, "")
        batch = self.rates(model, provider, when, "batch")
        if standard is None or batch is None or batch != standard:
            return batch
        now = datetime.now(UTC)
        std_now = self.rates(model, provider, now, "")
        batch_now = self.rates(model, provider, now, "batch")
        if std_now is None or batch_now is None or std_now == batch_now:
            return standard  # no batch price: not batchable
        s0, b0 = std_now.bands[0], batch_now.bands[0]

        def ratio(kind: str) -> Decimal:
            base: Decimal = getattr(s0, kind)
            return Decimal(1) if base == 0 else getattr(b0, kind) / base

        bands = tuple(
            Band(band.above, *(getattr(band, k) * ratio(k) for k in TOKEN_KINDS))
            for band in standard.bands
        )
        source = "genai-prices (batch/standard ratio of today, an estimate)"
        return Rates(standard.model, standard.provider, bands, standard.per_request, source=source)

    def load(self) -> None:
        """Load genai-prices' data now (it is otherwise loaded on the first lookup), unless
        the memo holds rates already: then most lookups will not need it at all."""
        if self._recall().rates:
            return
        from genai_prices.data_snapshot import get_snapshot

        get_snapshot()

    def varies_within_a_day(self, model: str, provider: str = "") -> bool:
        """Whether the model's price depends on the time of day (e.g. off-peak discounts)."""
        ref = self.overrides.aliases.get(model.lower(), model)
        if ref.lower() in self.overrides.models:
            return False
        known = self._recall().by_minute.get(f"{ref}\x1f{provider}")
        if known is not None:
            return known
        found = self._lookup(ref, provider)
        varies = found is not None and self._priced_by_minute(found[1])
        self._recall().by_minute[f"{ref}\x1f{provider}"] = varies
        self._recall().dirty = True
        return varies

    def _priced_by_minute(self, found_model: Any) -> bool:
        if found_model.id not in self._by_minute:
            self._by_minute[found_model.id] = _has_time_of_day_prices(found_model)
        return self._by_minute[found_model.id]

    def _lookup(self, ref: str, provider: str) -> Any:
        key = (ref, provider)
        if key not in self._models:
            self._models[key] = None
            if ref and not ref.startswith("<"):  # "<synthetic>" and friends are not models
                from genai_prices.data_snapshot import get_snapshot

                with contextlib.suppress(LookupError):
                    self._models[key] = get_snapshot().find_provider_model(
                        ref, None, provider or None, None
                    )
                name, other = normalised_name(ref, provider)
                if self._models[key] is None and (name, other) != (ref, provider):
                    with contextlib.suppress(LookupError):  # a provider's or proxy's spelling
                        self._models[key] = get_snapshot().find_provider_model(
                            name, None, other or None, None
                        )
        return self._models[key]

    def cost(
        self,
        model: str,
        time: datetime | None = None,
        *,
        provider: str = "",
        service_tier: str = "",
        input: int = 0,
        cache_read: int = 0,
        cache_write_5m: int = 0,
        cache_write_1h: int = 0,
        output: int = 0,
    ) -> Decimal | None:
        rates = self.rates(model, provider, time, service_tier)
        if rates is None:
            return None
        return rates.cost(input, cache_read, cache_write_5m, cache_write_1h, output)


@cache
def _name_rules() -> tuple[tuple[re.Pattern[str], str | None, str | None], ...]:
    """(pattern, replacement, provider) of each rule in ``data/model_names.toml``."""
    raw = (Path(__file__).parent / "data" / "model_names.toml").read_bytes()
    return tuple(
        (re.compile(r["match"]), r.get("replace"), r.get("provider"))
        for r in tomllib.loads(raw.decode("utf-8"))["rule"]
    )


def normalised_name(model: str, provider: str = "") -> tuple[str, str]:
    """(name, provider) as genai-prices knows a provider's or proxy's spelling of a model:
    Bedrock inference profiles (``us.anthropic.…-v1:0``) under ``aws``, ``converse/`` and
    ``models/`` prefixes dropped, Vertex's ``@20250514`` as ``-20250514``."""
    name = model.lower()
    for pattern, replacement, other in _name_rules():
        if pattern.search(name):
            if replacement is not None:
                name = pattern.sub(replacement, name)
            provider = other or provider
    return name, provider


@cache
def _known_ids() -> tuple[str, ...]:
    from genai_prices.data_snapshot import get_snapshot

    ids = {m.id.lower() for p in get_snapshot().providers for m in p.models}
    return tuple(sorted(ids, key=len, reverse=True))  # the longest (most specific) first


def suggest_alias(model: str) -> str | None:
    """A priced model whose id appears in an unpriced name (an Azure deployment named
    ``prod-gpt-4o-eu``, a proxy's ``team/claude-sonnet-4-5``), for the warning to suggest as
    a ``--prices`` alias; ``None`` if nothing fits. A suggestion, never applied silently."""
    name = normalised_name(model)[0]
    for known in _known_ids():
        if len(known) >= 4 and re.search(rf"(?<![a-z0-9.]){re.escape(known)}(?![a-z0-9])", name):
            return known
    return None


def _has_time_of_day_prices(model: Any) -> bool:
    from genai_prices.types import TimeOfDateConstraint

    prices = model.prices if isinstance(model.prices, list) else []
    return any(isinstance(p.constraint, TimeOfDateConstraint) for p in prices)


def _rates_from_model_price(model_id: str, provider_id: str, price: Any) -> Rates:
    """Read linear rates off a genai-prices ``ModelPrice`` by pricing unit usages with it."""
    from genai_prices import Usage
    from genai_prices.types import TieredPrices

    starts = sorted(
        {t.start for v in vars(price).values() if isinstance(v, TieredPrices) for t in v.tiers}
    )

    def total(**kw: int) -> Decimal:
        return Decimal(price.calc_price(Usage(**kw))["total_price"])

    fixed = total(input_tokens=0)
    bands = []
    for above in (0, *starts):
        # A prompt inside this band: the tier is chosen by the whole prompt's size.
        n = max(above + 1, 1_000_000) if above == 0 else above + 1
        if starts and above == 0:
            n = min(n, starts[0])
        base = total(input_tokens=n) - fixed
        bands.append(
            Band(
                above=above,
                input=base * MTOK / n,
                cache_read=(total(input_tokens=n, cache_read_tokens=n) - fixed) * MTOK / n,
                cache_write_5m=(total(input_tokens=n, cache_write_tokens=n) - fixed) * MTOK / n,
                cache_write_1h=(
                    total(input_tokens=n, cache_write_tokens=n, cache_write_1h_tokens=n) - fixed
                )
                * MTOK
                / n,
                output=(total(input_tokens=n, output_tokens=n) - fixed - base) * MTOK / n,
            )
        )
    return Rates(model_id, provider_id, tuple(bands), per_request=fixed)
