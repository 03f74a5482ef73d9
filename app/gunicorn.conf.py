# gunicorn settings of the reference API.
import os

bind = "0.0.0.0:8000"
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "4"))
worker_class = "gthread"
# On SIGTERM: stop accepting, let requests in flight finish for up to this long.
graceful_timeout = 20
timeout = 30
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = "warning"
