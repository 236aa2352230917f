"""docker-compose.yml: valid, production-safe, health-checked and scalable.

Runs `docker-compose config` (Debian's docker-compose package; CI installs it) and reads
the resolved file; no Docker engine is needed. The proxy's Caddyfile is validated by
`caddy validate` where caddy is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.utils.processes import REPO

REQUIRED = {"SECRET_KEY": "s3cret-for-tests", "PLATFORM_TOKEN": "platform-for-tests",
            "POSTGRES_PASSWORD": "pw-for-tests", "SMTP_HOST": "smtp.example.com"}  # fmt: skip
LONG_RUNNING = {"postgres", "redis", "gateway", "worker", "proxy", "mailpit"}


def compose(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (CI installs Debian's package)")
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    return subprocess.run(
        [binary, "-f", str(REPO / "docker-compose.yml"), *args], cwd=REPO,
        env={**clean, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture(scope="module")
def services() -> dict:
    result = compose("--profile", "dev-mail", "config", **REQUIRED)
    assert result.returncode == 0, result.stderr
    return dict(yaml.safe_load(result.stdout))["services"]


def test_compose_file_is_valid_and_refuses_to_run_without_secrets(services):
    assert {"proxy", "gateway", "worker", "migrate", "postgres", "redis"} <= set(services)
    for missing in ("SECRET_KEY", "POSTGRES_PASSWORD"):
        env = {k: v for k, v in REQUIRED.items() if k != missing}
        result = compose("config", **env)
        assert result.returncode != 0 and missing in result.stderr, (missing, result.stderr)


def test_every_service_is_health_checked_restarted_and_production_configured(services):
    for name, service in services.items():
        if name == "migrate":  # a one-shot job: the others wait for it to complete
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service, name
        assert name not in LONG_RUNNING or service["restart"] == "unless-stopped", name
    for name in ("gateway", "worker", "migrate"):
        env = services[name]["environment"]
        assert env["ENVIRONMENT"] == "production", name
        assert env["SECRET_KEY"] == REQUIRED["SECRET_KEY"], name
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "collab", "worker", "--check"]
    assert services["worker"]["environment"]["WORKER_HEARTBEAT_FILE"]
    assert services["proxy"]["depends_on"]["worker"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["gateway"]["condition"] == "service_healthy"


def test_gateways_scale_behind_the_proxy_without_a_host_port(services):
    assert "ports" not in services["gateway"] and "ports" not in services["worker"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published <= {"proxy", "mailpit"}
    for port in services["mailpit"].get("ports", []):  # the dev catcher: loopback only
        assert str(port.get("host_ip", port) if isinstance(port, dict) else port).startswith(
            "127.0.0.1"
        )
    caddy = shutil.which("caddy")
    if caddy is not None:
        check = subprocess.run([caddy, "validate", "--config", str(REPO / "deploy/Caddyfile"),
                                "--adapter", "caddyfile"], capture_output=True, text=True)  # fmt: skip
        assert check.returncode == 0, check.stderr
