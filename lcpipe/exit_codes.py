"""Exit codes of every lcpipe command, defined once.

0 finished (or a --stop-after bound reached), 1 a stage or command failed,
2 a usage or spec error, 130/143 stopped by SIGINT/SIGTERM (128 + signal).
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143
