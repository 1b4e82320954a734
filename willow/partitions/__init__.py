"""Time partitions of the append-only tables (the request log, the events) on PostgreSQL.

PostgreSQL's declarative partitioning by a timestamp column (``created_at``,
``occurred_at``), one partition a day, created ahead by Willow itself (no extension), plus
a DEFAULT partition so that a row is never refused: ``rules`` says which partitions a
table needs and which retention may drop whole (pure), ``store`` makes and drops them.
SQLite keeps one table pruned by DELETE; every function of ``store`` is a no-op there.
See docs/request-log-storage.md and docs/events.md.
"""
