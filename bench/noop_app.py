"""The framework's floor for ``bench_serving``: FastAPI endpoints that do no work.

``POST /score`` reads the whole body (the same bytes the scoring endpoint gets) and
returns a small JSON object; ``GET /item/{item_id}`` returns one. Served by uvicorn
with the same flags as the API, in the same run.
"""

from __future__ import annotations

from fastapi import FastAPI, Request


def create_app() -> FastAPI:
    """A FastAPI app with a no-op POST and GET."""
    app = FastAPI()

    @app.post("/score")
    async def score(request: Request) -> dict[str, int]:
        body = await request.body()
        return {"bytes": len(body)}

    @app.get("/item/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id}

    return app
