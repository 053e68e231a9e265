"""kill -9 while the writer is busy loses nothing that was confirmed and never corrupts the database."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from atlas_desk.store.db import Store

WRITER = r"""
import sys
from pathlib import Path
from atlas_desk.store.db import Store

store = Store.open(Path(sys.argv[1]))
blob = "x" * 2000  # big rows, so the WAL passes the auto-checkpoint size while we watch
n = 0
while True:
    futures = []
    for _ in range(50):
        n += 1
        futures.append(store.submit(
            lambda c, k=n: c.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{k:08d}", blob))
        ))
    for f in futures:
        f.result()
    print(n, flush=True)  # every row up to n is committed
"""

CONFIRMED_BEFORE_KILL = 4000  # ~8 MB of rows: at least one WAL checkpoint has happened


def _read_markers(proc: subprocess.Popen[bytes], want: int, timeout: float) -> int:
    """Read the writer's confirmation lines until one reaches ``want``; return the highest seen."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    fd = proc.stdout.fileno()
    buf = b""
    highest = 0
    deadline = time.monotonic() + timeout
    while highest < want:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the writer confirmed only {highest} rows in {timeout} s"
        if not sel.select(remaining):
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"the writer exited early ({proc.wait()}):\n{err}")
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line.strip():
                highest = max(highest, int(line))
    sel.close()
    return highest


def test_kill_9_keeps_every_confirmed_row_and_the_file_intact(data_dir: Path) -> None:
    path = data_dir / "desk.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        confirmed = _read_markers(proc, CONFIRMED_BEFORE_KILL, timeout=90)
        # The writer is still inserting as fast as it can: the kill lands mid-batch.
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    store = Store.open(path)  # recovers the WAL
    try:
        conn = store.reader()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = conn.execute("SELECT count(*) FROM meta WHERE key <= ?", (f"k{confirmed:08d}",)).fetchone()[0]
        assert kept == confirmed
        # And the store is usable for writing afterwards.
        store.submit(lambda c: c.execute("INSERT INTO meta (key, value) VALUES ('after', 'kill')")).result(10)
    finally:
        store.close()
