"""A test listener, run inside a dev host (python3 is in the host image):

    listener.py http PORT FILE   appends each POST's JSON body to FILE (an Alertmanager webhook)
    listener.py tcp PORT FILE    appends each line received to FILE (where Logstash would listen)

One JSON document per line of FILE.
"""

import json
import socketserver
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def append(path, line):
    with open(path, "a", encoding="utf-8") as out:
        out.write(line.rstrip("\n") + "\n")


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        append(self.server.path, json.dumps(json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Lines(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            append(self.server.path, line.decode("utf-8", "replace"))


class ThreadedTCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(kind, port, path):
    if kind == "http":
        server = HTTPServer(("127.0.0.1", int(port)), Webhook)
    else:
        server = ThreadedTCPServer(("0.0.0.0", int(port)), Lines)
    server.path = path
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:4])
