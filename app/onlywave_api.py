"""The reference OnlyWave API: a small WSGI service that exercises what a real one would.

  GET  /health     the load balancer's check: this process serves (no dependency is asked)
  GET  /ready      the deploy gate: PostgreSQL, Redis and S3 answer (503 otherwise)
  GET  /version    the image's version and git commit (no dependency)
  GET  /metrics    Prometheus metrics
  POST /notes      {"text": "..."} -> stored in PostgreSQL, cached in Redis -> {"id": n}
  GET  /notes/<id> read through Redis (PostgreSQL on a miss)

A dependency's outage degrades the API instead of failing it (docs/deploy.md, "The health
model"): with Redis away, reads go to PostgreSQL and writes skip the cache; with PostgreSQL
away, cached reads are served and what needs PostgreSQL gets 503 with Retry-After at once.
After a failure, a dependency is not tried again for RETRY_AFTER seconds (requests fail fast
or skip it meanwhile); then the next request tries it.

Configuration comes from the environment (see Dockerfile). Logs are JSON lines on stdout.
gunicorn runs it and, on SIGTERM, stops accepting and finishes the requests in flight.
"""

import contextlib
import json
import logging
import os
import re
import sys
import threading
import time

import boto3
import psycopg2
import psycopg2.errors
import redis
from botocore.config import Config
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

VERSION = os.environ.get("APP_VERSION", "dev")
COMMIT = os.environ.get("GIT_COMMIT", "unknown")
# Fault injection for deploy tests: a release built with this set never becomes ready.
BROKEN_READY = os.environ.get("ONLYWAVE_API_BROKEN_READY") == "1"
NOTE_PATH = re.compile(r"^/notes/(\d+)$")
# Seconds a dependency is left alone after it failed: the Retry-After of a 503.
RETRY_AFTER = 1
# A dependency counts as unreachable for this long after its last failure (metric below).
UNREACHABLE_WINDOW = 30
# A PostgreSQL connection left idle this long is checked (SELECT 1) before a statement uses it:
# PostgreSQL may have restarted meanwhile, and a dead connection would fail the request.
PING_AFTER_IDLE = 2.0

REQUESTS = Counter("onlywave_api_requests_total", "Requests served", ["method", "route", "status"])
LATENCY = Histogram(
    "onlywave_api_request_duration_seconds",
    "Time to serve a request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DEPENDENCY_UP = Gauge(
    "onlywave_api_dependency_up",
    f"0 when a request failed to reach the dependency in the last {UNREACHABLE_WINDOW} s",
    ["dependency"],
)


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname.lower()}
        line.update(getattr(record, "fields", {}))
        line["msg"] = record.getMessage()
        line["version"] = VERSION
        return json.dumps(line)


log = logging.getLogger("onlywave_api")
_handler = logging.StreamHandler(sys.stdout)
_handler.setFormatter(JsonFormatter())
log.addHandler(_handler)
log.setLevel(logging.INFO)
log.propagate = False


def describe(error):
    """An error in one short line: its message's first line, or its type when it has none."""
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


class Unavailable(Exception):
    """A dependency cannot be reached now: the request gets 503 with Retry-After."""

    def __init__(self, dependency, reason):
        super().__init__(f"{dependency}: {reason}")
        self.dependency = dependency


class Dependency:
    """One dependency's state: after a failure, calls fail fast for RETRY_AFTER seconds."""

    def __init__(self, name, errors):
        self.name, self.errors = name, errors
        self.failed_at = -UNREACHABLE_WINDOW
        self.reason = ""
        DEPENDENCY_UP.labels(name).set_function(
            lambda: 0.0 if time.monotonic() - self.failed_at < UNREACHABLE_WINDOW else 1.0
        )

    def call(self, action):
        if time.monotonic() - self.failed_at < RETRY_AFTER:
            raise Unavailable(self.name, self.reason)
        try:
            return action()
        except self.errors as e:
            self.failed_at, self.reason = time.monotonic(), describe(e)
            raise Unavailable(self.name, self.reason) from e


class Backends:
    """Connections to PostgreSQL, Redis and S3, made on first use and kept.

    Every use goes through a Dependency, with timeouts short enough that a request never waits
    long on one that is away.
    """

    def __init__(self, env=os.environ):
        self.env = env
        self._db = self._cache = self._s3 = None
        self._db_used = 0.0
        self._connecting = threading.Lock()
        # Only the errors that mean "cannot reach it now"; any other is the request's own. A server
        # that has just stopped being the primary (a failover) refuses writes as read-only: that is
        # "not now" too, and the next connection goes through the proxy to the new primary.
        self.postgresql = Dependency(
            "postgresql", (psycopg2.OperationalError, psycopg2.InterfaceError, psycopg2.errors.ReadOnlySqlTransaction)
        )
        self.redis = Dependency("redis", (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ReadOnlyError))

    def _connection(self):
        with self._connecting:
            idle = time.monotonic() - self._db_used
            if self._db is not None and not self._db.closed and idle > PING_AFTER_IDLE:
                # Before any statement of the request is sent, so nothing can run twice.
                try:
                    with self._db.cursor() as cur:
                        cur.execute("SELECT 1")
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    self._db = None
            self._db_used = time.monotonic()
            if self._db is None or self._db.closed:
                self._db = None
                # connect_timeout bounds the whole setup (TCP, TLS, authentication). A worker that
                # served only cached reads opens its first connection when Redis goes away, at
                # the same moment as every other such worker: 2 s was most likely too short for
                # that on a busy 2-core host (2 of 421 reads got 503, the first after 2.74 s, in
                # a Redis outage under load). A stopped PostgreSQL still refuses at once;
                # established connections keep tcp_user_timeout's 2 s.
                db = psycopg2.connect(
                    self.env.get("DATABASE_URL", ""), connect_timeout=5, tcp_user_timeout=2000,
                    keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
                )  # fmt: skip
                db.autocommit = True
                with db.cursor() as cur:
                    cur.execute("CREATE TABLE IF NOT EXISTS notes (id bigserial PRIMARY KEY, text text NOT NULL)")
                self._db = db
            return self._db

    def sql(self, statement, args=()):
        """Run one statement on PostgreSQL and return its first row; Unavailable if it cannot."""

        def run():
            try:
                with self._connection().cursor() as cur:
                    cur.execute(statement, args)
                    return cur.fetchone()
            except self.postgresql.errors:
                self._db = None  # reconnect on the next try
                raise

        return self.postgresql.call(run)

    def cache(self):
        if self._cache is None:
            self._cache = redis.Redis.from_url(
                self.env.get("REDIS_URL", ""), socket_timeout=0.5, socket_connect_timeout=0.5
            )
        return self._cache

    def cached(self, key):
        """The cached value, or None on a miss and while Redis is away (reads fall back)."""
        try:
            return self.redis.call(lambda: self.cache().get(key))
        except Unavailable:
            return None

    def cache_set(self, key, value):
        """Cache a value; while Redis is away, skip it (the value is in PostgreSQL)."""
        with contextlib.suppress(Unavailable):
            self.redis.call(lambda: self.cache().set(key, value, ex=300))

    def s3(self):
        if self._s3 is None:
            # Readiness must answer fast: short timeouts, no retry.
            quick = Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1})
            self._s3 = boto3.client("s3", endpoint_url=self.env.get("S3_ENDPOINT_URL") or None, config=quick)
        return self._s3

    def check(self):
        """What is not reachable, by name ({} when all are). Asks each one, whatever its state."""
        problems = {}
        for name, probe in (
            ("postgresql", lambda: self._connection().cursor().execute("SELECT 1")),
            ("redis", lambda: self.cache().ping()),
            ("s3", lambda: self.s3().head_bucket(Bucket=self.env.get("S3_BUCKET", ""))),
        ):
            try:
                probe()
            except Exception as e:  # readiness reports every failure
                problems[name] = describe(e)
                if name == "postgresql":
                    self._db = None
        return problems


backends = Backends()


def respond(start_response, status, body, content_type="application/json", headers=()):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers])
    return [data]


def route(environ):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    if method == "GET" and path == "/health":
        return "200 OK", {"status": "ok"}, "/health"
    if method == "GET" and path == "/ready":
        problems = {"release": "not ready (fault injected)"} if BROKEN_READY else backends.check()
        return ("503 Service Unavailable" if problems else "200 OK"), {"ready": not problems, **problems}, "/ready"
    if method == "GET" and path == "/version":
        return "200 OK", {"version": VERSION, "commit": COMMIT}, "/version"
    if method == "GET" and path == "/metrics":
        return "200 OK", generate_latest(), "/metrics"
    if method == "POST" and path == "/notes":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        text = json.loads(environ["wsgi.input"].read(length) or b"{}").get("text", "")
        (note_id,) = backends.sql("INSERT INTO notes (text) VALUES (%s) RETURNING id", (text,))
        backends.cache_set(f"onlywave:note:{note_id}", text)
        return "201 Created", {"id": note_id}, "/notes"
    match = NOTE_PATH.match(path)
    if method == "GET" and match:
        note_id = int(match.group(1))
        cached = backends.cached(f"onlywave:note:{note_id}")
        if cached is not None:
            return "200 OK", {"id": note_id, "text": cached.decode(), "cached": True}, "/notes/<id>"
        row = backends.sql("SELECT text FROM notes WHERE id = %s", (note_id,))
        if row is None:
            return "404 Not Found", {"error": "no such note"}, "/notes/<id>"
        backends.cache_set(f"onlywave:note:{note_id}", row[0])
        return "200 OK", {"id": note_id, "text": row[0], "cached": False}, "/notes/<id>"
    return "404 Not Found", {"error": "no such route"}, "other"


def application(environ, start_response):
    started = time.monotonic()
    headers = ()
    try:
        status, body, name = route(environ)
    except Unavailable as e:  # fail fast: the client may retry after RETRY_AFTER seconds
        status, body, name = "503 Service Unavailable", {"error": "unavailable", "dependency": e.dependency}, "error"
        headers = (("Retry-After", str(RETRY_AFTER)),)
    except Exception as e:  # one bad request must not kill the worker
        log.exception("request failed", extra={"fields": {"path": environ.get("PATH_INFO")}})
        status, body, name = "500 Internal Server Error", {"error": type(e).__name__}, "error"
    elapsed = time.monotonic() - started
    REQUESTS.labels(environ["REQUEST_METHOD"], name, status[:3]).inc()
    LATENCY.labels(name).observe(elapsed)
    if name != "/metrics":
        fields = {
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO"),
            "status": int(status[:3]),
            "duration_ms": round(elapsed * 1000, 1),
        }
        log.info("request", extra={"fields": fields})
    content_type = CONTENT_TYPE_LATEST if name == "/metrics" else "application/json"
    return respond(start_response, status, body, content_type, headers)
