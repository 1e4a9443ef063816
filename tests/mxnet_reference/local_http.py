"""A local HTTP server (127.0.0.1, a free port) serving a directory: how the
``gluon.utils.download`` cases run the real download path with no network, under
MXNet (record_metric_utils_layers.py) and under keras_defer (tests/test_gluon_utils.py)."""

import contextlib
import http.server
import threading


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def local_server(directory):
    """``with local_server(path) as base_url:`` serves ``path`` until the block ends."""
    def handler(*args, **kwargs):
        return _Quiet(*args, directory=directory, **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
