"""Headless command implementations, imported only when chosen.

Exit codes, one definition for every command: 0 done (a check passed), 1 a
check failed, 2 the command could not do what was asked (bad input, a
broken lesson).
"""

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
