"""A bounded HTTP load against the dev edge (127.0.0.1 only), counting every outcome.

    with Load("https://127.0.0.1:8443/version", rate=60, ca=...) as load:
        ... deploy ...
    load.summary()  # {'requests': n, 'non_2xx': n, 'errors': n, 'rate': r, 'versions': {...}}

Used by test_dev_environment.py and benchmarks/deploy_swap.sh.
"""

import json
import threading
import time
from collections import Counter

import requests

MAX_SECONDS = 900  # a load never outlives this, whatever the caller does


class Load:
    def __init__(self, url, rate=60, ca=None, workers=6):
        assert url.startswith(("https://127.0.0.1", "http://127.0.0.1")), "load only targets 127.0.0.1"
        self.url, self.rate, self.ca, self.workers = url, rate, ca, workers
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses, self.errors, self.versions = Counter(), Counter(), Counter()
        self.started = self.ended = None

    def _worker(self, index):
        session = requests.Session()
        interval = self.workers / self.rate
        next_at = time.monotonic() + index * interval / self.workers
        while not self.stop.is_set() and time.monotonic() - self.started < MAX_SECONDS:
            next_at += interval
            try:
                answer = session.get(self.url, verify=self.ca, timeout=10)
                version = answer.json().get("version") if answer.ok else None
                with self.lock:
                    self.statuses[answer.status_code] += 1
                    self.versions[version] += 1
            except (requests.RequestException, json.JSONDecodeError) as e:
                with self.lock:
                    self.errors[type(e).__name__] += 1
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
            thread.join(timeout=15)
        self.ended = time.monotonic()

    def summary(self):
        requests_sent = sum(self.statuses.values()) + sum(self.errors.values())
        seconds = self.ended - self.started
        return {
            "requests": requests_sent,
            "seconds": round(seconds, 1),
            "rate": round(requests_sent / seconds, 1),
            "non_2xx": sum(n for status, n in self.statuses.items() if not 200 <= status < 300),
            "errors": sum(self.errors.values()),
            "statuses": dict(self.statuses),
            "error_kinds": dict(self.errors),
            "versions": {str(k): v for k, v in self.versions.items()},
        }
