"""supplierrisk: supplier performance KPIs and delivery/disruption risk models from PO history."""

__version__ = "0.1.0"
