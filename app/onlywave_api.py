"""The reference OnlyWave API: a small WSGI service that exercises what a real one would.

  GET  /health     liveness: the process answers
  GET  /ready      readiness: PostgreSQL, Redis and S3 answer (503 otherwise)
  GET  /version    the image's version and git commit
  GET  /metrics    Prometheus metrics
  POST /notes      {"text": "..."} -> stored in PostgreSQL, cached in Redis -> {"id": n}
  GET  /notes/<id> read through Redis (PostgreSQL on a miss)

Configuration comes from the environment (see Dockerfile). Logs are JSON lines on stdout.
gunicorn runs it and, on SIGTERM, stops accepting and finishes the requests in flight.
"""

import json
import logging
import os
import re
import sys
import time

import boto3
import psycopg2
import redis
from botocore.config import Config
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

VERSION = os.environ.get("APP_VERSION", "dev")
COMMIT = os.environ.get("GIT_COMMIT", "unknown")
# Fault injection for deploy tests: a release built with this set never becomes ready.
BROKEN_READY = os.environ.get("ONLYWAVE_API_BROKEN_READY") == "1"
NOTE_PATH = re.compile(r"^/notes/(\d+)$")

REQUESTS = Counter("onlywave_api_requests_total", "Requests served", ["method", "route", "status"])
LATENCY = Histogram(
    "onlywave_api_request_duration_seconds",
    "Time to serve a request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
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


class Backends:
    """Connections to PostgreSQL, Redis and S3, made on first use and kept."""

    def __init__(self, env=os.environ):
        self.env = env
        self._db = self._cache = self._s3 = None

    def db(self):
        if self._db is None or self._db.closed:
            self._db = psycopg2.connect(self.env.get("DATABASE_URL", ""), connect_timeout=3)
            self._db.autocommit = True
            with self._db.cursor() as cur:
                cur.execute("CREATE TABLE IF NOT EXISTS notes (id bigserial PRIMARY KEY, text text NOT NULL)")
        return self._db

    def cache(self):
        if self._cache is None:
            self._cache = redis.Redis.from_url(self.env.get("REDIS_URL", ""), socket_timeout=3)
        return self._cache

    def s3(self):
        if self._s3 is None:
            # Readiness must answer fast: short timeouts, no retry.
            quick = Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1})
            self._s3 = boto3.client("s3", endpoint_url=self.env.get("S3_ENDPOINT_URL") or None, config=quick)
        return self._s3

    def check(self):
        """What is not reachable, by name ({} when all are)."""
        problems = {}
        for name, probe in (
            ("postgresql", lambda: self.db().cursor().execute("SELECT 1")),
            ("redis", lambda: self.cache().ping()),
            ("s3", lambda: self.s3().head_bucket(Bucket=self.env.get("S3_BUCKET", ""))),
        ):
            try:
                probe()
            except Exception as e:  # readiness reports every failure
                problems[name] = str(e).splitlines()[0][:200]
                if name == "postgresql":
                    self._db = None
        return problems


backends = Backends()


def respond(start_response, status, body, content_type="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
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
        with backends.db().cursor() as cur:
            cur.execute("INSERT INTO notes (text) VALUES (%s) RETURNING id", (text,))
            note_id = cur.fetchone()[0]
        backends.cache().set(f"onlywave:note:{note_id}", text, ex=300)
        return "201 Created", {"id": note_id}, "/notes"
    match = NOTE_PATH.match(path)
    if method == "GET" and match:
        note_id = int(match.group(1))
        cached = backends.cache().get(f"onlywave:note:{note_id}")
        if cached is not None:
            return "200 OK", {"id": note_id, "text": cached.decode(), "cached": True}, "/notes/<id>"
        with backends.db().cursor() as cur:
            cur.execute("SELECT text FROM notes WHERE id = %s", (note_id,))
            row = cur.fetchone()
        if row is None:
            return "404 Not Found", {"error": "no such note"}, "/notes/<id>"
        backends.cache().set(f"onlywave:note:{note_id}", row[0], ex=300)
        return "200 OK", {"id": note_id, "text": row[0], "cached": False}, "/notes/<id>"
    return "404 Not Found", {"error": "no such route"}, "other"


def application(environ, start_response):
    started = time.monotonic()
    try:
        status, body, name = route(environ)
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
    return respond(start_response, status, body, content_type)
