"""Reusable widgets of the tutor app."""
