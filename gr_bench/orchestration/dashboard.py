"""A study's storage in optuna-dashboard (the optional extra ``[dashboard]``), served read-only.

optuna-dashboard reads an Optuna storage as it is, so a study can be watched while it runs: its
trials, their parameters, values and intermediate values (the per-task reports the pruner sees),
and each trial's user attributes (stage, label, seed, final_avg_acc, cpu_s: orchestration/trials.py).
The runs' full records (the user attributes run:<seed>, which runs.csv and records.jsonl.gz hold)
are left out of what it shows. The storage is a study's evidence, so only reads reach it: the
dashboard's buttons that would write (a note, a deleted study, a told trial) are answered 405.
Loopback by default.
"""

from __future__ import annotations

import errno
import json
import re
import socket
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..errors import UnavailableError
from ..storage import load_study, open_storage

INSTALL = "pip install -e '.[dashboard]'"  # from a clone; `pip install optuna-dashboard` does the same
READS = ("GET", "HEAD")
STUDY_API = re.compile(r"/api/studies/\d+")  # one study with its trials
RECORD = re.compile(r"run:\d+")  # a trial's user attribute holding one run's full record (orchestration/trials.py)
FIRST = ("stage", "label", "seed", "seeds", "final_avg_acc", "cpu_s")  # shown first, in this order (trials.py)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a request in flight never holds up Ctrl-C


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No line per request: the terminal keeps the URL and nothing else."""


def without_records(body: bytes) -> bytes:
    """A study's JSON as optuna-dashboard's API gives it, without the runs' full records (the user
    attributes run:<seed>, a few KB each: runs.csv and records.jsonl.gz have them), so that each
    trial shows what a person reads there, in pages a long study can still load; the attributes a
    person looks for first (FIRST) come first."""
    data = json.loads(body)

    def shown(attrs: list[dict]) -> list[dict]:  # the person's attributes first (FIRST), the rest in their order
        kept = [a for a in attrs if not RECORD.fullmatch(str(a.get("key")))]
        return sorted(kept, key=lambda a: FIRST.index(a["key"]) if a.get("key") in FIRST else len(FIRST))

    for key in ("trials", "best_trials"):
        for t in data.get(key) or []:
            t["user_attrs"] = shown(t.get("user_attrs") or [])
    if "union_user_attrs" in data:
        data["union_user_attrs"] = shown(data["union_user_attrs"])
    return json.dumps(data).encode()


def read_only(app: Callable) -> Callable:
    """The WSGI app, with every request other than GET and HEAD refused (405): nothing the
    dashboard serves can change the study's storage. A study's trials come without their runs'
    full records (without_records)."""

    def wrapped(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET").upper() in READS:
            if not STUDY_API.fullmatch(environ.get("PATH_INFO", "")):
                return app(environ, start_response)
            held: list = []
            body = b"".join(app(environ, lambda status, headers, exc_info=None: held.append((status, headers))))
            status, headers = held[0]
            if status.startswith("200") and body:
                body = without_records(body)
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
            start_response(status, headers)
            return [body]
        body = json.dumps({"reason": "gr-bench dashboard is read-only: the study's storage is its evidence"}).encode()
        start_response("405 Method Not Allowed", [("Content-Type", "application/json"), ("Allow", ", ".join(READS)),
                                                  ("Content-Length", str(len(body)))])
        return [body]

    return wrapped


def check_installed() -> None:
    """optuna-dashboard is installed, else one line saying how to install it (exit code 2)."""
    import importlib.util

    if importlib.util.find_spec("optuna_dashboard") is None:
        raise UnavailableError(f"gr-bench dashboard needs optuna-dashboard: {INSTALL}")


def dashboard_app(url: str) -> Callable:
    """optuna-dashboard's WSGI app on the storage at ``url``, read-only."""
    check_installed()
    import optuna_dashboard

    return read_only(optuna_dashboard.wsgi(open_storage(url)))


def serve(url: str, study_name: str | None = None, *, host: str = "127.0.0.1", port: int = 8080,
          on_ready: Callable[[str], None] = print) -> None:
    """Serve the storage at ``url`` in optuna-dashboard until interrupted (KeyboardInterrupt
    propagates: Ctrl-C). ``on_ready`` gets the address to open, once the port is bound: the study's
    own page when ``study_name`` is given, else the list of the storage's studies. Port 0: any free
    port. A port in use or an address this machine does not have: UnavailableError, one line."""
    app = dashboard_app(url)  # refused before anything is bound when optuna-dashboard is missing
    path = "/dashboard/"
    if study_name is not None:
        study = load_study(open_storage(url), study_name)
        if study is not None:
            path = f"/dashboard/studies/{study._study_id}"
    try:
        server = make_server(host, port, app, server_class=_Server6 if ":" in host else _Server,
                             handler_class=_Quiet)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UnavailableError(f"port {port} on {host} is in use: pass another --port") from None
        raise UnavailableError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    try:
        shown = f"[{host}]" if ":" in host else host
        on_ready(f"http://{shown}:{server.server_port}{path}")
        server.serve_forever()
    finally:
        server.server_close()


__all__ = ["INSTALL", "check_installed", "dashboard_app", "read_only", "serve"]
