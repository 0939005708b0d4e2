"""Tests of `tiered-review calibrate`."""
