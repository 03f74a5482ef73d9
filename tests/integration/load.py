"""A bounded HTTP load against 127.0.0.1 (the dev edge, the rehearsal's ALB stand-in), keeping
every request's outcome.

    with Load("https://127.0.0.1:8443/version", rate=60, ca=...) as load:
        ... deploy ...
    load.summary()  # {'requests': n, 'non_2xx': n, 'errors': n, 'rate': r, 'versions': {...}}
    load.outcomes   # one Outcome per request: when it started, how long it took, what came back

    Load(f"{edge}/notes", rate=5, body={"text": "..."})  # POSTs that JSON body

Used by test_dev_environment.py, test_rehearsal.py and benchmarks/deploy_swap.sh.
"""

import json
import threading
import time
from collections import Counter
from typing import NamedTuple

import requests

MAX_SECONDS = 900  # a load never outlives this, whatever the caller does


class Outcome(NamedTuple):
    started: float  # time.monotonic() when the request was sent
    seconds: float
    status: int  # 0 when no answer came (error names what happened)
    error: str
    retry_after: str  # the Retry-After header, "" without one
    created: object = None  # the "id" a POST's 201 answer named: an acknowledged write

    @property
    def ok(self):
        return 200 <= self.status < 300


class Load:
    def __init__(self, url, rate=60, ca=None, workers=6, body=None, timeout=10):
        assert url.startswith(("https://127.0.0.1", "http://127.0.0.1")), "load only targets 127.0.0.1"
        self.url, self.rate, self.ca, self.workers, self.body, self.timeout = url, rate, ca, workers, body, timeout
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes, self.versions = [], Counter()
        self.started = self.ended = None

    def _send(self, session):
        started = time.monotonic()
        try:
            if self.body is None:
                answer = session.get(self.url, verify=self.ca, timeout=self.timeout)
            else:
                answer = session.post(self.url, json=self.body, verify=self.ca, timeout=self.timeout)
            version = answer.json().get("version") if answer.ok and self.body is None else None
            created = answer.json().get("id") if answer.status_code == 201 else None
            retry_after = answer.headers.get("Retry-After", "")
            outcome = Outcome(started, time.monotonic() - started, answer.status_code, "", retry_after, created)
        except (requests.RequestException, json.JSONDecodeError) as e:
            version, outcome = None, Outcome(started, time.monotonic() - started, 0, type(e).__name__, "")
        with self.lock:
            self.outcomes.append(outcome)
            if version is not None:
                self.versions[version] += 1

    def _worker(self, index):
        session = requests.Session()
        interval = self.workers / self.rate
        next_at = time.monotonic() + index * interval / self.workers
        while not self.stop.is_set() and time.monotonic() - self.started < MAX_SECONDS:
            next_at += interval
            self._send(session)
            time.sleep(max(0.0, next_at - time.monotonic()))

    def __enter__(self):
        self.started = time.monotonic()
        self.threads = [threading.Thread(target=self._worker, args=(i,), daemon=True) for i in range(self.workers)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=self.timeout + 5)
        self.ended = time.monotonic()

    def summary(self):
        seconds = self.ended - self.started
        statuses = Counter(o.status for o in self.outcomes if o.status)
        errors = Counter(o.error for o in self.outcomes if not o.status)
        return {
            "requests": len(self.outcomes),
            "seconds": round(seconds, 1),
            "rate": round(len(self.outcomes) / seconds, 1),
            "non_2xx": sum(1 for o in self.outcomes if o.status and not o.ok),
            "errors": sum(errors.values()),
            "statuses": dict(statuses),
            "error_kinds": dict(errors),
            "versions": {str(k): v for k, v in self.versions.items()},
        }
