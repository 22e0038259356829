"""One ``APIRouter`` per group of endpoints; ``serving.app`` includes them all."""

from serving.routes import admin, categories, models, monitoring, scoring, service, suppliers

ROUTERS = (
    service.router,
    models.router,
    scoring.router,
    suppliers.router,
    categories.router,
    monitoring.router,
    admin.router,
)
