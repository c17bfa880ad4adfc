"""Screens of the tutor app: one place each."""
