"""Storage: tables, migrations, repositories and the unit of work, on SQLite and PostgreSQL."""
