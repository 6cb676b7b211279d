"""Everything specific to PostgreSQL (JSONB, tsvector, COPY)."""
