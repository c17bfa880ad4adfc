"""Environment variables the app reads, one definition each (the benchmarks set them)."""

# `tutor bench startup`: run headless, report the first frame and the lessons shown, then exit.
FIRST_FRAME_ENV = "TUTOR_BENCH_FIRST_FRAME"
# `tutor bench ui`: append key-to-screen latencies (ms, one a line) to this file.
KEY_LATENCY_ENV = "TUTOR_BENCH_KEY_LOG"
