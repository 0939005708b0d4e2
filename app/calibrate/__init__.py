"""`tiered-review calibrate`: the router measured against a labelled corpus, and refitted."""
