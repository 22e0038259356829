"""What the benchmarks share: the line each ends with, one per target, and the floor's booster."""

from typing import Any


def target_line(name: str, value: str, goal: str, met: bool) -> str:
    """``target <name>: <value> (goal <goal>) MET|MISSED``."""
    return f"target {name}: {value} (goal {goal}) {'MET' if met else 'MISSED'}"


def lightgbm_booster(classifier: Any) -> Any:
    """The LightGBM booster of a served classifier (the LightGBM member of a blend)."""
    member = classifier.members_[0] if hasattr(classifier, "members_") else classifier
    return member.model_.booster_
