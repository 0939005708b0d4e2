"""Fuzzing: hostile-but-realistic inputs for the product's four trust boundaries.

`oracle` decides what counts as handled and drives hypothesis; `diffs`, `payloads`, `configs`
and `outputs` generate inputs; `targets` wires each boundary to its strategy. Both
`tests/test_fuzz.py` (a quick subset) and `bench/fuzz.py` (>= 1,000 cases a target) use them.
"""
