"""``supplierrisk db``: the results database's schema version and its migrations."""

from __future__ import annotations

import typer

from pipelines.cli_support import user_errors
from supplierrisk.settings import Settings, display_url

db_app = typer.Typer(help="The results database: bring its layout up to date (also done by every writer).")


@db_app.command("upgrade")
@user_errors
def db_upgrade() -> None:
    """Apply the missing migrations to SUPPLIERRISK_RESULTS_DB_URL (default SQLite in the home)."""
    from supplierrisk.batch.migrations import LATEST_VERSION
    from supplierrisk.batch.results import upgrade_database

    url = Settings().results_url
    before, applied = upgrade_database(url)
    for migration in applied:
        typer.echo(f"applied {migration.version}: {migration.description}")
    state = f"upgraded from {before}" if applied else "already current"
    typer.echo(f"results database {display_url(url)}: schema version {LATEST_VERSION} ({state})")
