"""Faults under load through an environment's entry point, and what each request saw.

The health model (docs/deploy.md): a shared dependency's outage degrades the API and takes no
server out of rotation; a server whose own process hangs is taken out.
"""

import time

import requests
from load import Load

VERSION_RATE, READ_RATE, WRITE_RATE = 20, 10, 5  # requests/s of each load during a fault


def write_note(edge, ca, text):
    """Store a note through the edge (it is cached in Redis too); return its id."""
    answer = requests.post(f"{edge}/notes", json={"text": text}, verify=ca, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def outage(edge, ca, note_id, stop, start, seconds, look=lambda: None, after=8):
    """/version, reads of one note and writes under load while stop() ... seconds ... start().

    look() runs 5 s before start(), while the dependency is still away. Returns the three loads,
    what look() returned and the monotonic times the dependency stopped and came back (when
    start() returned).
    """
    with (
        Load(f"{edge}/version", rate=VERSION_RATE, ca=ca) as version,
        Load(f"{edge}/notes/{note_id}", rate=READ_RATE, ca=ca, workers=4) as reads,
        Load(f"{edge}/notes", rate=WRITE_RATE, ca=ca, workers=4, body={"text": "written under a fault"}) as writes,
    ):
        time.sleep(3)
        stopped = time.monotonic()
        stop()
        time.sleep(max(0, seconds - 5))
        seen = look()
        time.sleep(max(0.0, stopped + seconds - time.monotonic()))
        start()
        returned = time.monotonic()
        time.sleep(after)
    return {
        "version": version,
        "reads": reads,
        "writes": writes,
        "seen": seen,
        "stopped": stopped,
        "returned": returned,
    }


def failed(load, since=0.0):
    """The outcomes that were not 2xx, of requests sent at or after `since`."""
    return [o for o in load.outcomes if o.started >= since and not o.ok]


def p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def fail_fast_figures(result):
    """The writes' figures during a PostgreSQL outage (see the test for what they must be)."""
    writes, returned = result["writes"], result["returned"]
    refused = failed(writes)
    back = [o.started - returned for o in writes.outcomes if o.ok and o.started >= returned]
    return {
        "writes": len(writes.outcomes),
        "refused": len(refused),
        "refused_kinds": sorted({(o.status, o.retry_after, o.error) for o in refused}),
        "refused_p99_s": round(p99([o.seconds for o in refused]), 3),
        "last_refused_after_return_s": round(max(o.started - returned for o in refused), 2) if refused else None,
        "first_write_after_return_s": round(min(back), 2) if back else None,
        "failed_5s_after_return": len(failed(writes, since=returned + 5)),
    }


def haproxy_servers(stats_url):
    """Each server of HAProxy's api backend and its status (UP, DOWN, ...), from its CSV statistics."""
    rows = [line.split(",") for line in requests.get(f"{stats_url};csv", timeout=5).text.splitlines()]
    return {row[1]: row[17] for row in rows if row[0] == "api" and row[1] not in ("FRONTEND", "BACKEND")}
