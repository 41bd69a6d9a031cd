"""OpenTelemetry GenAI spans exported as OTLP JSON: one ``{"resourceSpans": [...]}`` document,
or JSONL of them (what the collector's file exporter writes).

Attributes follow the GenAI semantic conventions (open-telemetry/semantic-conventions,
``model/gen-ai/registry.yaml``):

- ``gen_ai.usage.input_tokens``: the spec says it SHOULD include *all* input tokens, cached
  ones included, and that ``gen_ai.usage.cache_read.input_tokens`` and
  ``gen_ai.usage.cache_creation.input_tokens`` SHOULD be included in it. So fresh input =
  input − cache_read − cache_creation. Where that comes out negative the instrumentation
  evidently reported Anthropic-style input (cache excluded), and ``input_tokens`` is taken as
  the fresh input as it stands. The legacy ``gen_ai.usage.prompt_tokens`` /
  ``completion_tokens`` names are read too.
- The spec does not split cache writes by TTL: they are counted as 5-minute writes.
- ``gen_ai.usage.reasoning.output_tokens`` is part of ``output_tokens``.
- Model: ``gen_ai.response.model`` (what served the call), else ``gen_ai.request.model``;
  provider: ``gen_ai.provider.name``, else the legacy ``gen_ai.system``.
- Id: ``gen_ai.response.id``, else ``<traceId>:<spanId>``. Session:
  ``gen_ai.conversation.id``, else the trace. Project: the resource's ``service.name``.
- Some frameworks also put the summed usage of a whole agent run on the parent span. A span
  whose descendants carry usage is such an aggregate and is skipped, so nothing counts twice.
- OTLP JSON writes 64-bit integers (``intValue``, ``*TimeUnixNano``) as strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tokenomy.calls import Call
from tokenomy.sources.base import EARLIEST, LATEST, BadUsage, FileReport, register, token_count
from tokenomy.sources.payloads import iter_payloads

__all__ = ["OTel", "attribute_values"]

_INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
_OUTPUT = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
# The spec's names first, then those instrumentations write in the wild (the anthropic SDK's
# own tracing names writes ``cache_write``; OpenLLMetry copies Anthropic's usage keys).
_CACHE_READ = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cache_read_tokens",
)
_CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.cache_write_tokens",
)
_REASONING = "gen_ai.usage.reasoning.output_tokens"
_INTEGER = re.compile(r"-?[0-9]+")
_PROVIDERS = {
    "openai": "openai",
    "azure.ai.openai": "openai",
    "az.ai.openai": "openai",
    "anthropic": "anthropic",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "gemini": "google",
    "vertex_ai": "google",
    "google": "google",
}


@register
class OTel:
    name = "otel"
    incremental = False

    def detect(self, path: Path, head: bytes) -> bool:
        return path.suffix in (".json", ".jsonl") and b'"resourceSpans"' in head

    def read(self, path: Path, offset: int, report: FileReport) -> Iterator[Call]:
        spans: list[tuple[dict[str, Any], dict[str, Any], str]] = []  # (span, attrs, service)
        for document in iter_payloads(path, report):
            batches = document.get("resourceSpans")
            if not isinstance(batches, list):
                report.skip("object without resourceSpans")
                continue
            for batch in batches:
                if not isinstance(batch, dict):
                    continue
                resource = batch.get("resource")
                service = attribute_values(resource).get("service.name", "")
                for scope in _list(batch.get("scopeSpans")):
                    for span in _list(scope.get("spans")):
                        spans.append((span, attribute_values(span), str(service)))
        parents = {(s.get("traceId"), s.get("spanId")): s.get("parentSpanId") for s, _, _ in spans}
        aggregates = _ancestors_of_usage(spans, parents)
        for span, attrs, service in spans:
            if not any(k in attrs for k in (*_INPUT, *_OUTPUT)):
                continue
            if (span.get("traceId"), span.get("spanId")) in aggregates:
                report.skip("aggregate span (its child spans carry the usage)")
                continue
            call = _call(span, attrs, service, report)
            if call is not None:
                call.file = str(path)
                report.calls += 1
                yield call


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def attribute_values(holder: Any) -> dict[str, Any]:
    """An OTLP ``attributes`` list as a plain dict (``intValue`` strings become ints)."""
    if not isinstance(holder, dict):
        return {}
    out: dict[str, Any] = {}
    for item in _list(holder.get("attributes")):
        key, value = item.get("key"), item.get("value")
        if isinstance(key, str) and isinstance(value, dict):
            out[key] = _value(value)
    return out


def _value(value: dict[str, Any]) -> Any:
    if "intValue" in value:
        raw = value["intValue"]
        if isinstance(raw, str) and _INTEGER.fullmatch(raw):
            return int(raw)  # OTLP JSON writes 64-bit integers as strings
        return raw  # an int as it stands; junk (a float, a word) left for token_count to judge
    for kind in ("stringValue", "doubleValue", "boolValue"):
        if kind in value:
            return value[kind]
    return None


def _ancestors_of_usage(
    spans: list[tuple[dict[str, Any], dict[str, Any], str]], parents: dict[Any, Any]
) -> set[tuple[Any, Any]]:
    marked: set[tuple[Any, Any]] = set()
    for span, attrs, _ in spans:
        if not any(k in attrs for k in (*_INPUT, *_OUTPUT)):
            continue
        trace, parent = span.get("traceId"), span.get("parentSpanId")
        while parent and (trace, parent) not in marked:
            marked.add((trace, parent))
            parent = parents.get((trace, parent))
    return marked


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> int:
    for key in keys:
        if key in attrs:
            return token_count(attrs, key)
    return 0


def _call(
    span: dict[str, Any], attrs: dict[str, Any], service: str, report: FileReport
) -> Call | None:
    try:
        total_in = _first(attrs, _INPUT)
        output = _first(attrs, _OUTPUT)
        read = _first(attrs, _CACHE_READ)
        write = _first(attrs, _CACHE_WRITE)
        reasoning = token_count(attrs, _REASONING)
        start = int(span.get("startTimeUnixNano") or 0)
    except (BadUsage, TypeError, ValueError) as exc:
        report.skip(str(exc) if isinstance(exc, BadUsage) else "bad span start time")
        return None
    if start <= 0:
        report.skip("span without start time")
        return None
    if not EARLIEST.timestamp() <= start / 1e9 < LATEST.timestamp():
        report.skip("bad span start time")
        return None
    time = datetime.fromtimestamp(start / 1e9, UTC)
    if reasoning > output:
        report.skip("inconsistent usage (reasoning > output)")
        return None
    fresh = total_in - read - write
    if fresh < 0:  # cache counts were not included in input_tokens (pre-spec instrumentation)
        fresh = total_in
    trace, span_id = str(span.get("traceId") or ""), str(span.get("spanId") or "")
    system = str(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system") or "")
    tier = attrs.get("openai.response.service_tier")
    return Call(
        source="otel",
        id=str(attrs.get("gen_ai.response.id") or f"{trace}:{span_id}"),
        time=time,
        model=str(attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model") or ""),
        provider=_PROVIDERS.get(system.lower(), ""),
        session=str(attrs.get("gen_ai.conversation.id") or trace),
        project=service,
        service_tier=tier if tier in ("flex", "priority") else "",
        input=fresh,
        cache_read=read,
        cache_write_5m=write,
        output=output,
        reasoning=reasoning,
    )
