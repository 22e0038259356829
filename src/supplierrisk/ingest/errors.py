"""The one error type for user mistakes in ingestion (bad file, bad mapping)."""


class IngestError(Exception):
    """A user-facing ingestion error: the message names the file, column and mapping entry."""


class IngestRefusedError(Exception):
    """A suspicious run refused by the plan's checks; the store was not touched.

    ``report`` is the run's report (written with the rejects, so the user can see why).
    """

    def __init__(self, report: object, reasons: list[str]) -> None:
        more = f" (and {len(reasons) - 1} more reasons, listed above)" if len(reasons) > 1 else ""
        super().__init__(reasons[0] + more)
        self.report = report
        self.reasons = reasons
