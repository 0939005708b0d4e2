"""Storage: the database edge, its schema and migrations, the job queue and the cost ledger."""
