"""docker-compose.yml, Dockerfile and .dockerignore, checked without a Docker engine: the compose
file parsed and validated (every service, dependency, healthcheck, volume and variable), the
Dockerfile linted with hadolint, and the exact commands the containers run, run here."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml
from conftest import REPO_ROOT, SAMPLE_FILE, scalar

from ghdw.dev.local_github import LocalGitHub, read_events

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ROLE_PASSWORDS = {"INGESTION_DB_PASS": "ingest-pw-1", "ETL_DB_PASS": "etl-pw-2", "BI_DB_PASS": "bi-pw-3"}


def _env_example_names() -> set[str]:
    text = (REPO_ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_compose_has_the_services_their_order_and_their_restart_policies():
    assert set(SERVICES) == {
        "postgres",
        "setup",
        "bronze-listener",
        "silver-gold-etl",
        "metabase-db",
        "metabase",
        "metabase-provision",
    }
    assert SERVICES["postgres"]["image"] == "postgres:16"
    assert SERVICES["setup"]["command"] == ["python", "setup_db.py"]
    assert SERVICES["setup"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert SERVICES["setup"]["restart"] == "on-failure"  # after its own bounded wait for the server
    for name, command in (
        ("bronze-listener", ["python", "ingestion/src/main.py"]),
        ("silver-gold-etl", ["python", "ingestion/src/process_etl.py"]),
    ):
        service = SERVICES[name]
        assert service["command"] == command
        assert service["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}
        assert service["restart"] == "on-failure"
        assert "logs:/app/ingestion/logs" in service["volumes"]
        assert "health.py --only" in " ".join(service["healthcheck"]["test"])
    # Loopback only: the login page is not published on every interface of the host.
    assert SERVICES["metabase"]["ports"] == ["127.0.0.1:3000:3000"]
    assert SERVICES["metabase"]["depends_on"]["metabase-db"] == {"condition": "service_healthy"}
    assert SERVICES["metabase-provision"]["depends_on"] == {"metabase": {"condition": "service_healthy"}}


def test_every_service_that_waits_on_another_has_a_healthcheck_or_is_one_shot():
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                test = SERVICES[dependency]["healthcheck"]["test"]
                assert test[0] == "CMD-SHELL" and test[1], dependency
            else:
                assert rule["condition"] == "service_completed_successfully"
                assert SERVICES[dependency].get("restart") in ("no", "on-failure")  # never "always"


@pytest.mark.parametrize("service", ["postgres", "metabase-db"])
def test_postgres_healthcheck_passes_only_once_the_server_accepts_tcp_connections(service):
    """On first boot the postgres image runs its init scripts on a temporary server that listens on
    the Unix socket only, then restarts it: a check over the socket passes too early, and setup
    (connecting over TCP) fails; Metabase's own database the same. The healthcheck, run here against
    a server of our own: the image's default socket is PGHOST, the container's port 5432 is this
    server's port."""
    from helpers import ThrowawayPostgres

    command = SERVICES[service]["healthcheck"]["test"][1].replace("$$", "$")
    with ThrowawayPostgres("hc-pw") as server:
        command = command.replace("-p 5432", f"-p {server.port}")
        env = {
            "PATH": f"{server.bin}:{os.environ.get('PATH', '')}",
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": "postgres",
            "PGHOST": str(server.socket_dir),
            "PGPORT": str(server.port),
        }

        def healthcheck() -> int:
            return subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=60).returncode

        server.start(tcp=False)  # the init server: socket only
        assert healthcheck() != 0
        server.stop()
        server.start(tcp=True)
        assert healthcheck() == 0


def test_setup_waits_for_the_database_and_its_port_is_published_only_on_opt_in():
    assert "DB_WAIT_SECONDS" in SERVICES["setup"]["environment"]
    assert "ports" not in SERVICES["postgres"]
    override = yaml.safe_load((REPO_ROOT / "docker-compose.warehouse-port.yml").read_text())
    assert set(override["services"]) == {"postgres"}
    (published,) = override["services"]["postgres"]["ports"]
    assert published.startswith("127.0.0.1:") and published.endswith(":5432")
    assert re.findall(r"\$\{([A-Z_]+)", published) == ["WAREHOUSE_PUBLISHED_PORT"]
    assert "WAREHOUSE_PUBLISHED_PORT" in _env_example_names()


def test_volumes_are_named_and_declared_and_the_databases_are_separate():
    declared = set(COMPOSE["volumes"])
    used = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", [])}
    assert used == declared == {"pgdata", "logs", "metabase-db"}
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "metabase-db:/var/lib/postgresql/data" in SERVICES["metabase-db"]["volumes"]
    metabase = SERVICES["metabase"]["environment"]
    assert metabase["MB_DB_TYPE"] == "postgres" and metabase["MB_DB_HOST"] == "metabase-db"


def test_each_service_uses_its_own_role_and_only_its_own_secrets():
    env = {name: s.get("environment", {}) for name, s in SERVICES.items()}
    assert env["bronze-listener"]["DB_USER"] == "gh_ingestion"
    assert env["silver-gold-etl"]["DB_USER"] == "gh_etl"
    assert env["metabase-provision"]["WAREHOUSE_BI_USER"] == "gh_bi"
    assert "ETL_DB_PASS" not in str(env["bronze-listener"]) and "INGESTION_DB_PASS" not in str(env["silver-gold-etl"])
    assert "GITHUB_TOKEN" not in str(env["silver-gold-etl"])
    for name, variables in env.items():
        for key, value in variables.items():
            if any(word in key for word in ("PASS", "TOKEN", "SECRET")):
                assert str(value).startswith("${"), f"{name}.{key} holds a literal secret"


def test_every_variable_the_compose_file_reads_is_documented_in_env_example():
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))  # $${X} is the container's own
    assert used - _env_example_names() == set()


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
def test_docker_compose_config_accepts_the_file(tmp_path):
    env = {
        **os.environ,
        "DB_PASS": "x",
        **ROLE_PASSWORDS,
        "METABASE_DB_PASS": "m",
        "METABASE_ADMIN_EMAIL": "a@example.com",
        "METABASE_ADMIN_PASSWORD": "p",
    }
    for files in (["docker-compose.yml"], ["docker-compose.yml", "docker-compose.warehouse-port.yml"]):
        command = ["docker-compose"] + [arg for name in files for arg in ("-f", str(REPO_ROOT / name))]
        result = subprocess.run(
            [*command, "config", "-q"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr


def test_dockerfile_passes_hadolint_and_builds_a_small_non_root_image():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(REPO_ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", dockerfile, flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert (
        dockerfile.index("COPY requirements.txt")
        < dockerfile.index("RUN pip install")
        < dockerfile.index("COPY ingestion/src/")
    )
    assert not re.search(r"^(ENV|ARG) .*(PASS|TOKEN|SECRET)", dockerfile, flags=re.MULTILINE)
    assert "pixeltable" not in (REPO_ROOT / "requirements.txt").read_text()  # the image needs no embedded server
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".pgdata/", "ingestion/logs/", "**/__pycache__/", ".venv/"):
        assert entry in ignored


def _command(service: str) -> list[str]:
    """The service's command; `python` is the image's interpreter, here the one running the tests."""
    command = SERVICES[service]["command"]
    return [sys.executable if command[0] == "python" else command[0], *command[1:]]


def _as_role(settings, role: str, password: str) -> str:
    parts = urlsplit(settings.database_url)
    return urlunsplit(parts._replace(netloc=f"{role}:{password}@{parts.netloc.rpartition('@')[2]}"))


def _container_env(settings, service: str, **overrides) -> dict:
    """The service's environment from the compose file, pointed at this test's database."""
    env = {"PATH": os.environ.get("PATH", ""), "LOG_DIR": str(settings.log_dir)}
    for key, value in SERVICES[service].get("environment", {}).items():
        if key.startswith("DB_") or "${" in str(value):
            continue  # connection and secrets come from the test below
        env[key] = str(value)
    return {**env, **overrides}


def _healthcheck(service: str, env: dict) -> int:
    shell = SERVICES[service]["healthcheck"]["test"][1].replace("$$", "$").replace("python ", f"{sys.executable} ", 1)
    return subprocess.run(["sh", "-c", shell], cwd=REPO_ROOT, env=env, capture_output=True, timeout=60).returncode


def _wait_for(conn, sql: str, deadline_seconds: float = 60) -> int:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        found = scalar(conn, sql)
        conn.rollback()
        if found:
            return found
        time.sleep(0.3)
    return 0


def test_the_containers_commands_run_the_pipeline_each_as_its_own_role(settings, conn):
    setup_env = _container_env(settings, "setup", DATABASE_URL=settings.database_url, **ROLE_PASSWORDS)
    setup = subprocess.run(_command("setup"), cwd=REPO_ROOT, env=setup_env, capture_output=True, text=True, timeout=120)
    assert setup.returncode == 0, setup.stderr
    assert "Service roles gh_bi, gh_etl, gh_ingestion can log in." in setup.stderr
    assert not any(p in setup.stderr for p in ROLE_PASSWORDS.values())

    with LocalGitHub(read_events([SAMPLE_FILE])) as github:
        listener_env = _container_env(
            settings,
            "bronze-listener",
            GITHUB_API_URL=github.url,
            DATABASE_URL=_as_role(settings, "gh_ingestion", ROLE_PASSWORDS["INGESTION_DB_PASS"]),
        )
        etl_env = _container_env(
            settings,
            "silver-gold-etl",
            DEMO_INTERVAL_SECONDS="1",
            DATABASE_URL=_as_role(settings, "gh_etl", ROLE_PASSWORDS["ETL_DB_PASS"]),
        )
        listener = subprocess.Popen(
            _command("bronze-listener"),
            cwd=REPO_ROOT,
            env=listener_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        etl = subprocess.Popen(
            _command("silver-gold-etl"),
            cwd=REPO_ROOT,
            env=etl_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert _wait_for(conn, "SELECT COUNT(*) FROM bronze.raw_events") >= 300
            assert _wait_for(conn, "SELECT COUNT(*) FROM gold.fact_events") >= 300
            assert _healthcheck("bronze-listener", listener_env) == 0
            assert _healthcheck("silver-gold-etl", etl_env) == 0
        finally:
            for proc in (listener, etl):
                proc.send_signal(signal.SIGTERM)
            outputs = [proc.communicate(timeout=60)[0] for proc in (listener, etl)]
    assert listener.returncode == 0, outputs[0]
    assert etl.returncode == 0, outputs[1]
    assert scalar(conn, "SELECT COUNT(DISTINCT ingest_xid) > 0 FROM bronze.raw_events")


def test_the_image_requirements_cover_every_import_of_the_code_it_copies():
    """The image installs only requirements.txt: every third-party module imported at the top of
    the code it copies must come from there (the embedded server is imported lazily, never in compose)."""
    import ast

    provided = {
        "psycopg2": "psycopg2-binary",
        "requests": "requests",
        "dotenv": "python-dotenv",
        "schedule": "schedule",
        "tenacity": "tenacity",
        "tqdm": "tqdm",
    }
    pinned = {
        line.split("==")[0].strip().lower()
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert set(provided.values()) == pinned
    local = {"ghdw", "setup_db"}
    for path in [
        *(REPO_ROOT / "ingestion" / "src").rglob("*.py"),
        REPO_ROOT / "setup_db.py",
        *(REPO_ROOT / "dashboards").glob("*.py"),
    ]:
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: lazy imports inside functions are deliberate
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and not node.level
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in local or top == "__future__":
                    continue
                assert top in provided, f"{path.name} imports {top}, which the image does not install"
