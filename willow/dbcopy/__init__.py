"""``flask --app app db copy --to URL``: move an install's data to a PostgreSQL database
(docs/moving-to-postgresql.md). plan.py decides what is copied and how rows are compared
(pure); copier.py moves the rows; cli.py is the command."""
