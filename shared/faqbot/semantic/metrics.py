"""The semantic tier's metrics: calls, estimated cost, fallbacks and what changed — per bot.

Production emits CloudWatch EMF lines through Powertools (`single_metric`, so each line carries its
own `bot_id` dimension without touching the handler's metric set); tests and `faqbot eval` record.

Names (namespace `faqbot`, dimensions `bot_id` and, where given, `kind` / `reason` / `outcome`):
- `SemanticCalls` (kind=embed|judge) and `SemanticEstimatedCost` (US dollars, kind=embed|judge);
- `SemanticFallback` (reason=timeout|throttled|denied|error|budget|no_vectors|judge_none|judge_invalid|ingest);
- `SemanticUpgraded` (outcome=answer|clarify|escalate): the tier changed the matcher's decision;
- `SemanticEmbedded` / `SemanticReused` (ingest): entry vectors computed / reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

NAMESPACE = "faqbot"


class SemanticMetrics(Protocol):
    def count(self, name: str, bot_id: str, value: float = 1, **dimensions: str) -> None: ...

    def cost(self, bot_id: str, usd: float, *, kind: str) -> None: ...


class PowertoolsMetrics:
    """One EMF line per data point, flushed at once (the handler's own metrics are left alone)."""

    def count(self, name: str, bot_id: str, value: float = 1, **dimensions: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._emit(name, MetricUnit.Count, value, bot_id, dimensions)

    def cost(self, bot_id: str, usd: float, *, kind: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._emit("SemanticEstimatedCost", MetricUnit.NoUnit, usd, bot_id, {"kind": kind})

    @staticmethod
    def _emit(name: str, unit: object, value: float, bot_id: str, dimensions: dict[str, str]) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        assert isinstance(unit, MetricUnit)
        with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="bot_id", value=bot_id)
            for key, dimension in dimensions.items():
                metric.add_dimension(name=key, value=dimension)


@dataclass
class RecordingMetrics:
    """Keeps every data point (tests; `faqbot eval --semantic` prints the totals)."""

    points: list[tuple[str, float, dict[str, str]]] = field(default_factory=list)

    def count(self, name: str, bot_id: str, value: float = 1, **dimensions: str) -> None:
        self.points.append((name, value, {"bot_id": bot_id, **dimensions}))

    def cost(self, bot_id: str, usd: float, *, kind: str) -> None:
        self.points.append(("SemanticEstimatedCost", usd, {"bot_id": bot_id, "kind": kind}))

    def total(self, name: str, **dimensions: str) -> float:
        return sum(
            value
            for point, value, dims in self.points
            if point == name and all(dims.get(k) == v for k, v in dimensions.items())
        )
