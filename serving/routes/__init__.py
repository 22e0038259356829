"""One ``APIRouter`` per group of endpoints; ``serving.app`` includes them all.

``ROUTERS`` are the API (in the OpenAPI document); ``PAGE_ROUTERS`` are the workspace's HTML pages.
"""

from serving.routes import (
    admin,
    categories,
    login,
    models,
    monitoring,
    scenario_pages,
    scenarios,
    scoring,
    service,
    suppliers,
    workspace,
)

ROUTERS = (
    service.router,
    models.router,
    scoring.router,
    suppliers.router,
    categories.router,
    monitoring.router,
    scenarios.router,
    admin.router,
)
PAGE_ROUTERS = (login.router, workspace.router, scenario_pages.router)
