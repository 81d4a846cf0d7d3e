"""Serving beyond 127.0.0.1: the LAN of an event (scripts/lan.sh), HTTPS by Caddy's local CA on a
laptop (scripts/Caddyfile.dev), and the production proxy (Caddyfile, docker-compose.yml).

Why: a phone at a cartoparty reaches the laptop at its LAN address, and only over HTTPS will its
browser allow geolocation and service workers; in production the load shedding needs the proxy's
X-Request-Start and Django must trust only that proxy. Each of these broke silently before: QR codes
pointing at 127.0.0.1, a healthcheck refused by ALLOWED_HOSTS.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from config.security import queue_ms

ROOT = Path(__file__).resolve().parent.parent
CADDY = shutil.which("caddy")
needs_caddy = pytest.mark.skipif(CADDY is None, reason="Caddy is not installed (apt-get install -y caddy)")
SHOWN = (
    "CARTOPARTY_PUBLIC_URL",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_BEHIND_PROXY",
    "CADDY_SITES",
    "CADDY_UPSTREAM",
)


def lan_setup(tmp_path: Path, addresses: str, **env: str) -> tuple[dict[str, str], str, str]:
    """Run lan_setup with `hostname -I` answering ``addresses``: (the variables it set, stdout, stderr)."""
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "hostname").write_text(f'#!/bin/sh\n[ "$1" = -I ] && echo "{addresses}"\n')
    (stub / "hostname").chmod(0o755)
    base = {k: v for k, v in os.environ.items() if k not in SHOWN and k not in ("HOST", "PORT", "HTTPS")}
    script = (
        'source scripts/lan.sh && lan_setup && echo "--- set:" && for v in "$@"; do echo "$v=${!v:-}"; done'
    )
    proc = subprocess.run(
        ["bash", "-c", script, "lan", *SHOWN],
        cwd=ROOT,
        env={**base, "PATH": f"{stub}:{os.environ['PATH']}", "CARTOPARTY_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    out, _, values = proc.stdout.rpartition("--- set:\n")
    exported = dict(line.split("=", 1) for line in values.splitlines())
    proc.stdout = out
    return exported, proc.stdout, proc.stderr


ALL = "0.0.0.0"  # noqa: S104 -- what `make run HOST=0.0.0.0` passes; nothing binds here
LAN = "192.168.1.20 10.8.0.3 fe80::1c2e:3ff:fe4a:1 2a01:db8::5"


def test_by_default_only_this_machine_is_served_and_the_output_says_how_to_serve_phones(tmp_path):
    env, out, err = lan_setup(tmp_path, LAN)
    assert env["CARTOPARTY_PUBLIC_URL"] == "http://127.0.0.1:8000"
    assert env["DJANGO_ALLOWED_HOSTS"] == "127.0.0.1,localhost,[::1]"
    assert "make run HOST=0.0.0.0" in out and err == ""


def test_host_0000_serves_the_lan_and_the_links_follow_its_first_address(tmp_path):
    env, out, err = lan_setup(tmp_path, LAN, HOST=ALL, PORT="8001")
    assert env["CARTOPARTY_PUBLIC_URL"] == "http://192.168.1.20:8001"
    # Link-local addresses are not reachable by name from a phone's browser: left out.
    assert env["DJANGO_ALLOWED_HOSTS"] == "127.0.0.1,localhost,[::1],192.168.1.20,10.8.0.3,[2a01:db8::5]"
    assert env["DJANGO_BEHIND_PROXY"] == "" and env["CADDY_SITES"] == ""
    for url in ("http://192.168.1.20:8001/", "http://10.8.0.3:8001/", "http://[2a01:db8::5]:8001/"):
        assert url in out
    assert "fe80" not in out and err == ""


def test_what_the_user_set_is_kept_and_a_loopback_public_url_is_called_out(tmp_path):
    env, out, err = lan_setup(
        tmp_path,
        LAN,
        HOST=ALL,
        CARTOPARTY_PUBLIC_URL="http://127.0.0.1:8000",
        DJANGO_ALLOWED_HOSTS="carto.local",
    )
    assert env["CARTOPARTY_PUBLIC_URL"] == "http://127.0.0.1:8000"
    assert env["DJANGO_ALLOWED_HOSTS"] == "carto.local"
    assert "phones cannot use the QR codes" in err
    assert "set it to http://192.168.1.20:8000" in err and "add 192.168.1.20 to DJANGO_ALLOWED_HOSTS" in err


@pytest.mark.parametrize("public_url", ["http://[::1]:8000", "http://[::1]", "http://localhost/"])
def test_every_spelling_of_a_loopback_public_url_is_called_out(tmp_path, public_url):
    _, _, err = lan_setup(tmp_path, LAN, HOST=ALL, CARTOPARTY_PUBLIC_URL=public_url)
    assert "phones cannot use the QR codes" in err


def test_a_laptop_not_yet_on_any_network_is_told_so(tmp_path):
    env, _, err = lan_setup(tmp_path, "fe80::1", HOST=ALL)
    assert env["CARTOPARTY_PUBLIC_URL"] == "http://127.0.0.1:8000"
    assert "no network address yet" in err


def test_https_puts_caddy_on_8443_of_every_lan_address_and_django_behind_it(tmp_path):
    env, out, _ = lan_setup(tmp_path, LAN, HTTPS="1")
    assert env["CARTOPARTY_PUBLIC_URL"] == "https://192.168.1.20:8443"
    assert env["DJANGO_BEHIND_PROXY"] == "1" and env["CADDY_UPSTREAM"] == "127.0.0.1:8000"
    assert env["CADDY_SITES"] == (
        "https://localhost:8443, https://127.0.0.1:8443, https://192.168.1.20:8443, "
        "https://10.8.0.3:8443, https://[2a01:db8::5]:8443"
    )
    assert "https://192.168.1.20:8443/" in out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Echo(http.server.BaseHTTPRequestHandler):
    """The development server's stand-in: answers with the headers it received."""

    def do_GET(self):
        body = json.dumps(dict(self.headers)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@needs_caddy
def test_make_run_https_serves_https_signed_by_the_local_ca(tmp_path, upstream):
    """What `make run HTTPS=1` starts (lan_setup, caddy_start): HTTPS that curl accepts with the
    generated root only, the request reaching the development server as HTTPS with X-Request-Start,
    and the root certificate offered to phones at /ca.crt."""
    port = free_port()
    script = "source scripts/lan.sh && lan_setup >/dev/null && caddy_start && echo $CADDY_PID && caddy_root"
    env = {
        **{k: v for k, v in os.environ.items() if k not in SHOWN},
        "CARTOPARTY_VAR_DIR": str(tmp_path),
        "HTTPS": "1",
        "HOST": "127.0.0.1",
        "PORT": str(upstream),
        "HTTPS_PORT": str(port),
    }
    started = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    lines = started.stdout.split()
    try:
        assert started.returncode == 0, started.stderr + (tmp_path / "log/caddy.log").read_text()
        root = Path(lines[1])
        assert "BEGIN CERTIFICATE" in root.read_text()
        url = f"https://localhost:{port}/"

        def curl(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=60)

        refused = curl(url)  # the system's trust store does not know the local CA
        assert refused.returncode == 60, refused.stderr
        served = curl("--cacert", str(root), url)
        assert served.returncode == 0, served.stderr
        headers = json.loads(served.stdout)
        assert headers["X-Forwarded-Proto"] == "https" and headers["Host"] == f"localhost:{port}"
        # What the load shedding parses: epoch milliseconds.
        assert re.fullmatch(r"t=\d{13}", headers["X-Request-Start"])
        assert queue_ms(headers["X-Request-Start"]) is not None
        ca = curl("--cacert", str(root), f"https://127.0.0.1:{port}/ca.crt")
        assert ca.stdout == root.read_text()
    finally:
        if lines:
            subprocess.run(["kill", lines[0]], check=False)


def caddy_adapt(caddyfile: Path, **env: str) -> dict:
    """The JSON Caddy makes of a Caddyfile, after `caddy validate` accepted it."""
    full = {**os.environ, "XDG_CONFIG_HOME": "/nonexistent", **env}
    for command in ("validate", "adapt"):
        proc = subprocess.run(
            [CADDY, command, "--adapter", "caddyfile", "--config", str(caddyfile)],
            env=full,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _handlers(node):
    """Every handler of an adapted configuration, however deep the subroutes."""
    if isinstance(node, dict):
        if "handler" in node:
            yield node
        for value in node.values():
            yield from _handlers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _handlers(value)


@needs_caddy
def test_production_caddyfile_sets_hsts_and_the_request_start_the_load_shedding_reads(tmp_path):
    config = caddy_adapt(ROOT / "Caddyfile", CARTOPARTY_DOMAIN="carto.example.org")
    (server,) = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [":443"]  # automatic HTTPS; port 80 redirects
    assert server["routes"][0]["match"] == [{"host": ["carto.example.org"]}]
    handlers = list(_handlers(config))
    (proxy,) = [h for h in handlers if h["handler"] == "reverse_proxy"]
    assert proxy["upstreams"] == [{"dial": "web:8000"}]
    start = proxy["headers"]["request"]["set"]["X-Request-Start"]
    assert start == ["t={time.now.unix_ms}"]
    (hsts,) = [h["response"] for h in handlers if h["handler"] == "headers"]
    assert hsts["deferred"] is True  # replaces Django's own header instead of doubling it
    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line
    )
    max_age = f"max-age={example['DJANGO_SECURE_HSTS_SECONDS']}; includeSubDomains; preload"
    assert hsts["set"]["Strict-Transport-Security"] == [max_age]  # what Django sends, too


@needs_caddy
def test_laptop_caddyfile_is_valid_with_what_lan_setup_gives_it(tmp_path):
    env, _, _ = lan_setup(tmp_path, LAN, HTTPS="1")
    config = caddy_adapt(
        ROOT / "scripts/Caddyfile.dev",
        CADDY_SITES=env["CADDY_SITES"],
        CADDY_UPSTREAM=env["CADDY_UPSTREAM"],
        CADDY_DIR=str(tmp_path / "caddy"),
    )
    assert "admin" in config and config["admin"]["disabled"] is True
    (policy,) = config["apps"]["tls"]["automation"]["policies"]
    assert policy["issuers"] == [{"module": "internal"}]


def test_compose_puts_caddy_in_front_and_publishes_nothing_else():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    proxy = services["proxy"]
    assert re.fullmatch(r"caddy:2\.\d+\.\d+", proxy["image"])  # a pinned tag, not caddy:2 or latest
    assert {p.split("/")[0] for p in proxy["ports"]} == {"80:80", "443:443"}
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    # The certificates and ACME account survive a restart (Let's Encrypt rate limits).
    assert {"caddy-data:/data", "caddy-config:/config"} <= set(proxy["volumes"])
    assert {"caddy-data", "caddy-config"} <= set(compose["volumes"])
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    assert "CARTOPARTY_DOMAIN" in proxy["environment"]
    published = [name for name, s in services.items() if s.get("ports")]
    assert published == ["proxy"]  # gunicorn is reached through Caddy only
    web = services["web"]
    assert web["environment"]["DJANGO_BEHIND_PROXY"] == "true"
    assert web["environment"]["DJANGO_SESSION_COOKIE_SECURE"] == "true"
    assert web["environment"]["DJANGO_CSRF_COOKIE_SECURE"] == "true"
    assert "CARTOPARTY_DOMAIN" in web["environment"]
    # The healthcheck asks as the proxy does, or ALLOWED_HOSTS and the HTTPS redirect refuse it.
    check = " ".join(web["healthcheck"]["test"])
    assert "'Host': os.environ['CARTOPARTY_DOMAIN']" in check and "'X-Forwarded-Proto': 'https'" in check


def test_the_domain_gives_the_host_names_the_trusted_origin_and_the_public_url():
    """Django behind the proxy from CARTOPARTY_DOMAIN alone (.env.example sets nothing else for them)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CARTOPARTY_"))},
        "CARTOPARTY_DOMAIN": "carto.example.org",
        "DJANGO_BEHIND_PROXY": "true",
    }
    code = (
        "from django.conf import settings as s; import json; print(json.dumps([s.ALLOWED_HOSTS,"
        " s.CSRF_TRUSTED_ORIGINS, s.CARTOPARTY_PUBLIC_URL, list(s.SECURE_PROXY_SSL_HEADER)]))"
    )
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(proc.stdout) == [
        ["carto.example.org"],
        ["https://carto.example.org"],
        "https://carto.example.org",
        ["HTTP_X_FORWARDED_PROTO", "https"],
    ]
