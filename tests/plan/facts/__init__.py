"""Tests of the parser-backed change facts."""
