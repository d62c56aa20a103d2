"""A small stand-in for Metabase's REST API on loopback, for testing provision_metabase.py.

It keeps state in memory (admin account, databases, collections, cards, dashboards with their
dashcards), answers the endpoints the provisioning script uses with Metabase's shapes and status
codes, demands the X-Metabase-Session header after login, and records every request so a test
can check which calls were made. It is not Metabase: it checks the requests, not the SQL.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeMetabase:
    def __init__(self):
        self.requests: list[tuple[str, str, dict | None]] = []
        self.setup_token = "setup-token-123"
        self.user: dict | None = None
        self.sessions: set[str] = set()
        self.databases: dict[int, dict] = {}
        self.collections: dict[int, dict] = {}
        self.cards: dict[int, dict] = {}
        self.dashboards: dict[int, dict] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.requests if method is None or m == method]

    # -- the API -------------------------------------------------------------------------------
    def handle(self, method: str, path: str, body: dict | None, session: str | None):
        if (method, path) == ("GET", "/api/health"):
            return 200, {"status": "ok"}
        if (method, path) == ("GET", "/api/session/properties"):
            return 200, {"setup-token": self.setup_token, "has-user-setup": self.user is not None}
        if (method, path) == ("POST", "/api/setup"):
            if self.user is not None or body.get("token") != self.setup_token:
                return 403, {"message": "setup already done or bad token"}
            self.user = body["user"]
            return 200, {"id": self._new_session()}
        if (method, path) == ("POST", "/api/session"):
            if (
                not self.user
                or body.get("username") != self.user["email"]
                or body.get("password") != self.user["password"]
            ):
                return 401, {"errors": {"password": "did not match stored password"}}
            return 200, {"id": self._new_session()}
        if session not in self.sessions:
            return 401, "Unauthenticated"
        if (method, path) == ("GET", "/api/database"):
            return 200, {"data": list(self.databases.values()), "total": len(self.databases)}
        if (method, path) == ("POST", "/api/database"):
            if body.get("engine") != "postgres" or not body.get("details", {}).get("user"):
                return 400, {"message": "engine and details required"}
            return 200, self._add(
                self.databases, {"name": body["name"], "engine": body["engine"], "details": body["details"]}
            )
        if (method, path) == ("GET", "/api/collection"):
            return 200, list(self.collections.values())
        if (method, path) == ("POST", "/api/collection"):
            return 200, self._add(
                self.collections, {"name": body["name"], "color": body.get("color"), "archived": False}
            )
        if match := re.fullmatch(r"/api/collection/(\d+)/items", path):
            cid = int(match.group(1))
            items = [
                {"id": i, "name": c["name"], "model": "card"}
                for i, c in self.cards.items()
                if c["collection_id"] == cid
            ]
            items += [
                {"id": i, "name": d["name"], "model": "dashboard"}
                for i, d in self.dashboards.items()
                if d["collection_id"] == cid
            ]
            return 200, {"data": items, "total": len(items)}
        if (method, path) == ("POST", "/api/card"):
            if body.get("dataset_query", {}).get("database") not in self.databases:
                return 400, {"message": "unknown database"}
            return 200, self._add(self.cards, dict(body))
        if match := re.fullmatch(r"/api/card/(\d+)", path):
            card = self.cards.get(int(match.group(1)))
            if card is None:
                return 404, "Not found."
            if method == "PUT":
                card.update(body)
            return 200, card
        if (method, path) == ("POST", "/api/dashboard"):
            return 200, self._add(self.dashboards, {**body, "dashcards": []})
        if match := re.fullmatch(r"/api/dashboard/(\d+)", path):
            dashboard = self.dashboards.get(int(match.group(1)))
            if dashboard is None:
                return 404, "Not found."
            if method == "PUT" and "parameters" in body:
                dashboard["parameters"] = body["parameters"]
            if method == "PUT" and "dashcards" in body:
                placed = []
                for dashcard in body["dashcards"]:
                    if dashcard["card_id"] not in self.cards:
                        return 400, {"message": f"no card {dashcard['card_id']}"}
                    placed.append({**dashcard, "id": dashcard["id"] if dashcard["id"] > 0 else next(self._ids)})
                dashboard["dashcards"] = placed
            return 200, dashboard
        return 404, "API endpoint does not exist."

    def _new_session(self) -> str:
        token = f"session-{next(self._ids)}"
        self.sessions.add(token)
        return token

    def _add(self, table: dict, row: dict) -> dict:
        row["id"] = next(self._ids)
        table[row["id"]] = row
        return row

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with fake._lock:
                    fake.requests.append((method, self.path, body))
                    status, payload = fake.handle(
                        method, self.path.split("?")[0], body, self.headers.get("X-Metabase-Session")
                    )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_PUT(self):
                self._serve("PUT")

            def log_message(self, *args):
                pass

        return Handler
