"""Storage: the SQLAlchemy models and extensions, the engine set-up for SQLite and
PostgreSQL, prepared statements, instance files, database faults and pruning."""
