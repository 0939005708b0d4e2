"""`tiered-review eval`: quality per route on cases with planted defects."""
