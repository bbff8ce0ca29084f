"""moto's S3 served over HTTP/1.1 connections that stay open, for the bench.

moto_server runs moto on werkzeug's development server, which ends every answer with
`Connection: close` and then reads the socket dry, so an S3 client opens a TCP connection per
request there. S3 and MinIO keep connections open, and the AWS SDK's agent reuses them. This
serves the same moto application (`moto_server`'s) on the standard library's threaded HTTP server
with keep-alive: each request's body read whole by its length, each answer sent with its
`Content-Length`, the connection then kept for the next request.

    python bench/moto_keep_alive.py <host> <port>
"""

import io
import sys
from http.server import ThreadingHTTPServer
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


class KeepAliveServerHandler(ServerHandler):
    http_version = "1.1"

    def send_headers(self):
        # an answer without a length ends where the connection does
        if "Content-Length" not in self.headers:
            self.request_handler.close_connection = True
        super().send_headers()


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle(self):
        self.close_connection = False
        while not self.close_connection:
            self.handle_one()

    def handle_one(self):
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or len(self.raw_requestline) > 65536 or not self.parse_request():
            self.close_connection = True
            return
        body = self.body()
        environ = self.get_environ()
        environ["CONTENT_LENGTH"] = str(len(body))
        # the body, read whole, is the application's input (wsgiref makes its stdin `wsgi.input`)
        handler = KeepAliveServerHandler(io.BytesIO(body), self.wfile, self.get_stderr(), environ, multithread=True)
        handler.request_handler = self
        handler.run(self.server.get_app())

    def body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_request(self, code="-", size="-"):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, app):
        super().__init__(address, KeepAliveHandler)
        self.app = app
        # what wsgiref's WSGIServer sets up for its handler's environ
        self.base_environ = {"SERVER_NAME": address[0], "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PORT": str(address[1])}
        self.base_environ.update({"SCRIPT_NAME": "", "REMOTE_HOST": ""})

    def get_app(self):
        return self.app


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    Server((host, port), DomainDispatcherApplication(create_backend_app)).serve_forever()


if __name__ == "__main__":
    main()
