"""The insight models: what a generator returns and what Bedrock must answer."""

from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["info", "warning", "critical"]
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


class Insight(BaseModel):
    title: str = Field(min_length=3, max_length=160)
    detail: str = Field(default="", max_length=1200)
    category: str = Field(default="general", max_length=40)
    severity: Severity = "info"
    evidence: list[str] = Field(default_factory=list, max_length=10)


class InsightAnswer(BaseModel):
    """What the model must answer (validated; anything else falls back to the offline generator)."""

    insights: list[Insight] = Field(min_length=1, max_length=8)


class InsightSet(BaseModel):
    insights: list[Insight]
    generator: Literal["bedrock", "offline"]
    model_id: str | None = None
    fallback_reason: str | None = None
