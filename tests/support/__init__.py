"""One copy of every helper the tests and the check scripts share.

ci        a missing requirement: skipped on a laptop, a failure under CI=true
tools     pinned native programs, found through tools/which.sh (the one table)
net       free ports, open ports, poll_until (reports the last error on timeout)
http      a small stdlib HTTP client
procs     child processes with their output kept, the alert sink as a process
appserver the app as a real server process (`python -m app`) on a free port
compose   the compose files as the pinned compose CLI renders them
stack     the running stack's addresses and small clients (e2e, make verify)
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
