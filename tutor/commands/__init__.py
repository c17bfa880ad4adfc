"""Headless command implementations, imported only when chosen."""
