"""`tiered-review report`: the ledger report, its output formats and charts."""
