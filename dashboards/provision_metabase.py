"""Register the warehouse in Metabase and build the dashboard from dashboards/dashboard.json.

    python dashboards/provision_metabase.py          (docker compose runs it as metabase-provision)

Idempotent: it looks everything up by name first and only creates or changes what differs, so it
can run on every `docker compose up`. Settings (environment or .env):
    METABASE_URL              http://localhost:3000
    METABASE_ADMIN_EMAIL      the admin account (created on a fresh Metabase, else logged into)
    METABASE_ADMIN_PASSWORD
    WAREHOUSE_HOST / WAREHOUSE_PORT / WAREHOUSE_DB   how Metabase reaches the warehouse
    WAREHOUSE_BI_USER         the read-only role (gh_bi), with password BI_DB_PASS
The Metabase REST API calls it makes, in order:
    GET  /api/health                              wait until Metabase is up
    GET  /api/session/properties                  a fresh instance has a setup-token
    POST /api/setup                               only then: create the admin account
    POST /api/session                             log in; the token goes in X-Metabase-Session
    GET  /api/database, POST /api/database        the warehouse, engine postgres, as gh_bi
    GET  /api/collection, POST /api/collection    the collection that holds our questions
    GET  /api/collection/:id/items                existing questions and dashboards, by name
    POST /api/card, PUT /api/card/:id             one native-SQL question per file
    POST /api/dashboard                           the dashboard, if missing
    GET  /api/dashboard/:id, PUT /api/dashboard/:id   place the questions (dashcards) not yet on it
Passwords are sent only in request bodies and never logged.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import requests
from dotenv import load_dotenv
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "dashboard.json"
# One repository's activity over time, with a Repository filter (a Metabase template tag).
REPOSITORY_MANIFEST = HERE / "repository_dashboard.json"
MANIFESTS = (MANIFEST, REPOSITORY_MANIFEST)
REQUEST_TIMEOUT_SECONDS = 30
STARTUP_WAIT_SECONDS = 600  # Metabase's first start (migrations of its application database) is slow
COLLECTION_COLOR = "#509EE3"  # required by older Metabase versions when creating a collection

log = logging.getLogger("PROVISION_METABASE")


class ProvisionError(RuntimeError):
    """Metabase refused a call; the message names the call and Metabase's answer."""


class Metabase:
    def __init__(self, base_url: str, secrets: tuple[str, ...] = ()):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.secrets = tuple(s for s in secrets if s)

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def call(self, method: str, path: str, body: dict | None = None, ok=(200, 202)):
        response = self.http.request(method, self.base_url + path, json=body, timeout=REQUEST_TIMEOUT_SECONDS)
        if response.status_code not in ok:
            raise ProvisionError(f"{method} {path} -> HTTP {response.status_code}: {self._redact(response.text[:300])}")
        return response.json() if response.content else None

    @retry(
        retry=retry_if_exception_type(requests.ConnectionError),
        wait=wait_fixed(5),
        stop=stop_after_delay(STARTUP_WAIT_SECONDS),
        reraise=True,
    )
    def wait_until_up(self) -> None:
        self.call("GET", "/api/health")

    def log_in(self, email: str, password: str) -> None:
        properties = self.call("GET", "/api/session/properties")
        token, user_exists = properties.get("setup-token"), properties.get("has-user-setup", True)
        if token and not user_exists:
            log.info("Fresh Metabase: creating the admin account %s", email)
            self.call(
                "POST",
                "/api/setup",
                {
                    "token": token,
                    "user": {
                        "email": email,
                        "password": password,
                        "first_name": "Warehouse",
                        "last_name": "Admin",
                        "site_name": "GitHub Events Warehouse",
                    },
                    "prefs": {"site_name": "GitHub Events Warehouse", "allow_tracking": False},
                },
            )
        session = self.call("POST", "/api/session", {"username": email, "password": password})
        self.http.headers["X-Metabase-Session"] = session["id"]


def _items(payload) -> list[dict]:
    """Metabase answers some lists bare and some as {"data": [...]} depending on the version."""
    return payload.get("data", []) if isinstance(payload, dict) else payload


def ensure_database(mb: Metabase, env) -> int:
    name = "GitHub Events Warehouse"
    details = {
        "host": env["WAREHOUSE_HOST"],
        "port": int(env.get("WAREHOUSE_PORT", "5432")),
        "dbname": env["WAREHOUSE_DB"],
        "user": env.get("WAREHOUSE_BI_USER", "gh_bi"),
        "password": env["BI_DB_PASS"],
        "ssl": False,
    }
    for database in _items(mb.call("GET", "/api/database")):
        if database.get("name") == name:
            return database["id"]
    log.info("Registering the warehouse in Metabase as %s@%s/%s", details["user"], details["host"], details["dbname"])
    return mb.call(
        "POST", "/api/database", {"engine": "postgres", "name": name, "details": details, "is_full_sync": True}
    )["id"]


def ensure_collection(mb: Metabase, name: str) -> int:
    for collection in _items(mb.call("GET", "/api/collection")):
        if collection.get("name") == name and not collection.get("archived"):
            return collection["id"]
    return mb.call("POST", "/api/collection", {"name": name, "color": COLLECTION_COLOR})["id"]


def load_manifest(path: Path = MANIFEST) -> dict:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for question in manifest["questions"]:
        question["query"] = (path.parent / question["sql"]).read_text(encoding="utf-8").strip().rstrip(";")
    return manifest


def dashboard_parameters(manifest: dict) -> list[dict]:
    """The dashboard's filters (e.g. Repository), each wired to the template tag of the same id."""
    return [dict(p) for p in manifest.get("parameters", [])]


def template_tags(manifest: dict, question: dict) -> dict:
    """Metabase's template tags of a native question: one text variable per dashboard filter it uses."""
    names = {p["id"]: p["name"] for p in manifest.get("parameters", [])}
    return {
        f: {"id": f"ghdw-{f}", "name": f, "display-name": names.get(f, f), "type": "text"}
        for f in question.get("filters", [])
    }


def provision(mb: Metabase, env, manifest: dict) -> dict:
    """Everything after logging in; returns counts of what was created or changed."""
    done = {"cards_created": 0, "cards_updated": 0, "dashboards_created": 0, "dashcards_added": 0}
    database_id = ensure_database(mb, env)
    collection_id = ensure_collection(mb, manifest["collection"])
    existing = _items(mb.call("GET", f"/api/collection/{collection_id}/items"))
    cards = {i["name"]: i["id"] for i in existing if i.get("model") == "card"}
    dashboards = {i["name"]: i["id"] for i in existing if i.get("model") == "dashboard"}

    card_ids = []
    for question in manifest["questions"]:
        native: dict = {"query": question["query"]}
        if question.get("filters"):
            native["template-tags"] = template_tags(manifest, question)
        body = {
            "name": question["name"],
            "collection_id": collection_id,
            "display": question["display"],
            "visualization_settings": {},
            "dataset_query": {"type": "native", "database": database_id, "native": native},
        }
        if question["name"] not in cards:
            card_ids.append(mb.call("POST", "/api/card", body)["id"])
            done["cards_created"] += 1
            continue
        card_id = cards[question["name"]]
        current = mb.call("GET", f"/api/card/{card_id}")
        if (
            current.get("dataset_query", {}).get("native", {}).get("query") != question["query"]
            or current.get("display") != question["display"]
        ):
            mb.call("PUT", f"/api/card/{card_id}", body)
            done["cards_updated"] += 1
        card_ids.append(card_id)

    dashboard_id = dashboards.get(manifest["dashboard"])
    if dashboard_id is None:
        dashboard_id = mb.call(
            "POST",
            "/api/dashboard",
            {
                "name": manifest["dashboard"],
                "collection_id": collection_id,
                "description": manifest.get("description", ""),
            },
        )["id"]
        done["dashboards_created"] += 1
    dashboard = mb.call("GET", f"/api/dashboard/{dashboard_id}")
    parameters = dashboard_parameters(manifest)
    if parameters and dashboard.get("parameters") != parameters:
        mb.call("PUT", f"/api/dashboard/{dashboard_id}", {"parameters": parameters})
    dashcards = dashboard.get("dashcards", [])
    placed = {d.get("card_id") for d in dashcards}
    new = [
        {
            "id": -(n + 1),
            "card_id": card_id,
            "row": q["row"],
            "col": q["col"],
            "size_x": q["size_x"],
            "size_y": q["size_y"],
            "parameter_mappings": [
                {"parameter_id": f, "card_id": card_id, "target": ["variable", ["template-tag", f]]}
                for f in q.get("filters", [])
            ],
            "visualization_settings": {},
        }
        for n, (card_id, q) in enumerate((c, q) for c, q in zip(card_ids, manifest["questions"]) if c not in placed)
    ]
    if new:
        keep = [{k: d[k] for k in ("id", "card_id", "row", "col", "size_x", "size_y") if k in d} for d in dashcards]
        mb.call("PUT", f"/api/dashboard/{dashboard_id}", {"dashcards": keep + new})
        done["dashcards_added"] = len(new)
    done["dashboard_url"] = f"{mb.base_url}/dashboard/{dashboard_id}"
    return done


def main(env=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    if env is None:
        load_dotenv(HERE.parent / ".env", override=False)
        env = os.environ
    missing = [
        v
        for v in ("METABASE_ADMIN_EMAIL", "METABASE_ADMIN_PASSWORD", "WAREHOUSE_HOST", "WAREHOUSE_DB", "BI_DB_PASS")
        if not env.get(v)
    ]
    if missing:
        print(f"Configuration error: set {', '.join(missing)} (see .env.example)", file=sys.stderr)
        return 2
    mb = Metabase(
        env.get("METABASE_URL", "http://localhost:3000"), secrets=(env["METABASE_ADMIN_PASSWORD"], env["BI_DB_PASS"])
    )
    try:
        mb.wait_until_up()
        mb.log_in(env["METABASE_ADMIN_EMAIL"], env["METABASE_ADMIN_PASSWORD"])
        done = {path.name: provision(mb, env, load_manifest(path)) for path in MANIFESTS}
    except (ProvisionError, requests.RequestException) as exc:
        log.error("Provisioning failed: %s", exc)
        return 1
    log.info("Metabase provisioned: %s", done)
    return 0


if __name__ == "__main__":
    sys.exit(main())
