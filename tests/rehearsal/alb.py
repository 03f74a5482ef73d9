"""A stand-in for the ALB in the rehearsal: the local entry point to the environment's API.

The emulator keeps the ALB's target group (which the aws_alb role creates and deploy.yml
registers and deregisters hosts in) but forwards no traffic. This does, over plain HTTP on a
loopback port, the way the ALB would:

- only to the targets registered in the target group, at their instances' private addresses (a
  deregistered target gets no new request within 0.5 s);
- only to those that pass the target group's own health check (its path, every 2 s, 2 passes to
  come in, 2 failures to go out);
- to every registered target when none passes (the ALB fails open).

It stands in for neither TLS nor the WAF (AWS WAFv2 cannot run here). Test harness only; it
stops by itself after --lifetime seconds.
"""

import argparse
import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

POLL_EVERY = 0.5  # the target group's registrations
CHECK_EVERY = 4  # polls between health checks: every 2 s
THRESHOLD = 2


class TargetGroup:
    """The registered targets of one target group and their health, refreshed in a thread."""

    def __init__(self, name):
        self.elb, self.ec2 = boto3.client("elbv2"), boto3.client("ec2")
        group = self.elb.describe_target_groups(Names=[name])["TargetGroups"][0]
        self.arn, self.path = group["TargetGroupArn"], group.get("HealthCheckPath", "/")
        self.addresses = {}  # instance ID -> private address
        self.streak = {}  # (address, port) -> consecutive passes (> 0) or failures (< 0)
        self.registered, self.healthy = [], []
        self.turn = itertools.count()

    def refresh(self, check_health):
        health = self.elb.describe_target_health(TargetGroupArn=self.arn)["TargetHealthDescriptions"]
        unknown = sorted({t["Target"]["Id"] for t in health} - self.addresses.keys())
        if unknown:
            reservations = self.ec2.describe_instances(InstanceIds=unknown)["Reservations"]
            instances = [i for r in reservations for i in r["Instances"]]
            self.addresses.update({i["InstanceId"]: i["PrivateIpAddress"] for i in instances})
        registered = [(self.addresses[t["Target"]["Id"]], t["Target"]["Port"]) for t in health]
        for target in registered if check_health else []:
            passed = check(target, self.path)
            before = self.streak.get(target, -THRESHOLD)
            self.streak[target] = max(before, 0) + 1 if passed else min(before, 0) - 1
        self.registered = registered
        self.healthy = [t for t in registered if self.streak.get(t, 0) >= THRESHOLD]

    def watch(self, stop):
        for tick in itertools.count():
            if stop.wait(POLL_EVERY):
                return
            try:
                self.refresh(check_health=tick % CHECK_EVERY == 0)
            except Exception as error:
                print(f"alb: refresh failed: {error}", flush=True)

    def pick(self):
        pool = self.healthy or self.registered  # fail open, as the ALB does
        return pool[next(self.turn) % len(pool)] if pool else None


def check(target, path):
    try:
        connection = http.client.HTTPConnection(*target, timeout=2)
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False


def handler_for(group):
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self):
            target = group.pick()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if target is None:
                return self.answer(503, b'{"error": "no registered target"}', {})
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            headers["X-Forwarded-For"] = self.client_address[0]
            try:
                connection = http.client.HTTPConnection(*target, timeout=30)
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                return self.answer(response.status, response.read(), dict(response.getheaders()))
            except OSError:
                return self.answer(502, b'{"error": "target did not answer"}', {})

        def answer(self, status, payload, headers):
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = forward

        def log_message(self, *args):
            pass

    return Forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-group", required=True)
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--lifetime", type=float, default=4 * 3600, help="stop after this many seconds")
    args = parser.parse_args()
    group = TargetGroup(args.target_group)
    stop = threading.Event()
    threading.Thread(target=group.watch, args=(stop,), daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(group))
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    print(f"alb: http://127.0.0.1:{args.port}/ -> target group {args.target_group} ({group.path})", flush=True)
    server.serve_forever()
    stop.set()


if __name__ == "__main__":
    main()
