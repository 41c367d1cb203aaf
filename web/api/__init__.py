"""The REST API under /api/v1/: usage, jobs, statements and exports, with its OpenAPI schema."""
