"""Benchmarks of the app itself (start-up, CPU, key latency), run from `tutor bench`.

Headless: they start `tutor` in a child process (a pty for the UI bench) and
read what it reports; nothing here imports textual.
"""
