"""Feedback beyond the verdict: the shape trace, errors in plain words, notes on how code is written."""
