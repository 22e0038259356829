"""The FastAPI service (built in the serving issue); imports the library, never the reverse."""
