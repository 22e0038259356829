"""The line every benchmark ends with, one per target."""


def target_line(name: str, value: str, goal: str, met: bool) -> str:
    """``target <name>: <value> (goal <goal>) MET|MISSED``."""
    return f"target {name}: {value} (goal {goal}) {'MET' if met else 'MISSED'}"
