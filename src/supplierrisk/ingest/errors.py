"""The one error type for user mistakes in ingestion (bad file, bad mapping)."""


class IngestError(Exception):
    """A user-facing ingestion error: the message names the file, column and mapping entry."""
