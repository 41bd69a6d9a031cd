"""The gateway's configuration: where each provider's traffic goes, and which policies are on.

Everything but recording is off by default. A TOML file turns policies on::

    host = "127.0.0.1"
    port = 8787
    max_body_bytes = 33554432
    upstream_timeout_s = 600

    [upstreams]                     # defaults: the real providers
    openai = "https://api.openai.com"
    anthropic = "https://api.anthropic.com"
    gemini = "https://generativelanguage.googleapis.com"

    [levers]
    max_tokens = 4096               # clamp every request's output cap to this
    anthropic_cache = true          # automatic cache breakpoints (client markers respected)
    anthropic_cache_ttl = "5m"      # or "1h"
    openai_prompt_cache_key = true  # a prompt_cache_key per project/user when none is sent

    [levers.route]                  # model A -> model B
    "gpt-4o" = "gpt-4o-mini"

    [[budgets]]
    scope = "project"               # project | user | key (virtual key) | all
    name = "acme"                   # which project/user/key ("*" = each one separately)
    period = "day"                  # day | month (UTC)
    usd = 5.0
    hard = true                     # false: a soft threshold (a log line and a header)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_UPSTREAMS", "Budget", "GatewayConfig", "Levers"]

DEFAULT_UPSTREAMS = {
    "openai": "https://api.openai.com",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
}
SCOPES = ("project", "user", "key", "all")
PERIODS = ("day", "month")


@dataclass(frozen=True)
class Budget:
    """A dollar limit on one scope over one calendar period (UTC)."""

    scope: str
    name: str
    period: str
    usd: Decimal
    hard: bool = True

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"budget scope {self.scope!r}: one of {', '.join(SCOPES)}")
        if self.period not in PERIODS:
            raise ValueError(f"budget period {self.period!r}: one of {', '.join(PERIODS)}")
        if self.usd < 0:
            raise ValueError("budget usd must not be negative")

    @property
    def label(self) -> str:
        who = "all traffic" if self.scope == "all" else f"{self.scope} {self.name!r}"
        kind = "hard" if self.hard else "soft"
        return f"{kind} {self.period}ly budget of ${self.usd} for {who}".replace("dayly", "daily")


@dataclass(frozen=True)
class Levers:
    """The live levers; each off unless set."""

    max_tokens: int | None = None
    route: dict[str, str] = field(default_factory=dict)
    anthropic_cache: bool = False
    anthropic_cache_ttl: str = "5m"
    openai_prompt_cache_key: bool = False


@dataclass(frozen=True)
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 8787
    upstreams: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_UPSTREAMS))
    levers: Levers = field(default_factory=Levers)
    budgets: tuple[Budget, ...] = ()
    max_body_bytes: int = 32 * 1024 * 1024
    upstream_timeout_s: float = 600.0
    record: bool = True
    # Chat Completions streams report usage only when asked: the gateway asks (one extra,
    # empty-choices chunk at the end), so that every streamed call is recorded.
    stream_usage: bool = True
    salt: str = ""  # for the hash of a provider key (attribution without storing the key)

    @classmethod
    def load(cls, path: Path | str | None, **overrides: Any) -> GatewayConfig:
        raw: dict[str, Any] = {}
        if path is not None:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_dict(raw, **overrides)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], **overrides: Any) -> GatewayConfig:
        upstreams = dict(DEFAULT_UPSTREAMS)
        for name, url in dict(raw.get("upstreams", {})).items():
            if name not in DEFAULT_UPSTREAMS:
                known = ", ".join(DEFAULT_UPSTREAMS)
                raise ValueError(f"unknown upstream {name!r}: one of {known}")
            upstreams[name] = str(url).rstrip("/")
        lv = dict(raw.get("levers", {}))
        ttl = str(lv.get("anthropic_cache_ttl", "5m"))
        if ttl not in ("5m", "1h"):
            raise ValueError("levers.anthropic_cache_ttl: 5m or 1h")
        cap = lv.get("max_tokens")
        if cap is not None and (not isinstance(cap, int) or cap < 1):
            raise ValueError("levers.max_tokens: a positive integer")
        levers = Levers(
            max_tokens=cap,
            route={str(k): str(v) for k, v in dict(lv.get("route", {})).items()},
            anthropic_cache=bool(lv.get("anthropic_cache", False)),
            anthropic_cache_ttl=ttl,
            openai_prompt_cache_key=bool(lv.get("openai_prompt_cache_key", False)),
        )
        budgets = tuple(
            Budget(
                scope=str(b.get("scope", "all")),
                name=str(b.get("name", "*")),
                period=str(b.get("period", "day")),
                usd=Decimal(str(b["usd"])),
                hard=bool(b.get("hard", True)),
            )
            for b in raw.get("budgets", [])
        )
        plain_keys = (
            "host", "port", "max_body_bytes", "upstream_timeout_s", "record", "stream_usage",
            "salt",
        )  # fmt: skip
        plain = {k: raw[k] for k in plain_keys if k in raw}
        plain.update({k: v for k, v in overrides.items() if v is not None})
        if "upstreams" in plain:
            upstreams.update(plain.pop("upstreams"))
        return cls(upstreams=upstreams, levers=levers, budgets=budgets, **plain)
