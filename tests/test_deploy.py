"""The container, compose file, systemd unit and deployment guide agree with the service.

The install-and-start script the Dockerfile runs is run here too, from a clean copy of
the source (the Docker build context), and must answer /readyz.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import yaml

from bot.cli import _parser
from bot.settings import Settings
from handlers.health import health_routes
from storage.keyring import decode_key

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "deploy/service.sh"
SETTING_NAME = re.compile(r"\b(?:INTAKE|TWILIO|TELEGRAM)_[A-Z0-9_]+\b")


def settings_env_names() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        for choice in getattr(field.validation_alias, "choices", []):
            if isinstance(choice, str) and choice.isupper():
                names.add(choice)
    return names


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def instruction(name: str) -> list[str]:
    return [args for op, args in dockerfile() if op == name]


def guide() -> str:
    return (ROOT / "docs" / "deploy.md").read_text()


def code_blocks(text: str) -> list[tuple[str, str, str]]:
    """(the paragraph before the fence, language, body) of every fenced block."""
    pattern = re.compile(r"^```([\w-]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
    return [
        (text[: m.start()].strip().rsplit("\n\n", 1)[-1], m.group(1), m.group(2))
        for m in pattern.finditer(text)
    ]


def data_dir() -> str:
    (volume,) = instruction("VOLUME")
    (path,) = yaml.safe_load(volume) if volume.startswith("[") else volume.split()
    return str(path)


def routes() -> set[str]:
    # The closures are never called: only the paths are read.
    return {route.path for route in health_routes(db=None, readiness=cast(Any, object()))}


def health_path(command: str) -> tuple[str, str]:
    match = re.search(r"http://127\.0\.0\.1:([^/']+)(/\w+)", command)
    assert match, command
    return match.group(1), match.group(2)


# -- compose -------------------------------------------------------------------------


def test_compose_runs_the_service_with_postgresql():
    services = compose()["services"]
    assert set(services) == {"intake", "postgres"}
    assert services["intake"]["build"] == "."
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["intake"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


def test_compose_sets_only_settings_the_service_reads():
    known = settings_env_names()
    environment = compose()["services"]["intake"]["environment"]
    named = {name for name in environment if SETTING_NAME.fullmatch(name)}
    assert named, "the compose file sets no setting at all"
    assert named <= known, named - known
    example = (ROOT / "deploy" / "env.example").read_text()
    in_example = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    assert {n for n in in_example if SETTING_NAME.fullmatch(n)} <= known
    # Everything the example offers reaches the container.
    assert {n for n in in_example if n != "POSTGRES_PASSWORD"} <= set(environment)


def test_compose_database_is_the_postgres_service():
    services = compose()["services"]
    url = services["intake"]["environment"]["INTAKE_DATABASE_URL"]
    parts = urlsplit(re.sub(r"\$\{[^}]*\}", "secret", url))
    postgres = services["postgres"]["environment"]
    assert parts.scheme == "postgresql"
    assert (parts.hostname, parts.port) == ("postgres", 5432)
    assert parts.username == postgres["POSTGRES_USER"]
    assert parts.path == "/" + postgres["POSTGRES_DB"]
    assert "POSTGRES_PASSWORD" in url and "POSTGRES_PASSWORD" in postgres["POSTGRES_PASSWORD"]


def test_compose_keeps_data_in_the_volume_the_image_declares():
    document = compose()
    intake = document["services"]["intake"]
    path = data_dir()
    mounts = dict(volume.split(":", 1)[::-1] for volume in intake["volumes"])
    assert path in mounts, intake["volumes"]
    assert mounts[path] in document["volumes"]
    assert intake["environment"]["INTAKE_DATA_DIR"] == path
    assert f"INTAKE_DATA_DIR={path}" in " ".join(instruction("ENV"))
    script = (ROOT / SCRIPT).read_text()
    assert f"DEFAULT_DATA_DIR={path}\n" in script
    postgres = document["services"]["postgres"]["volumes"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres)


def test_compose_health_check_asks_a_real_route_on_the_served_port():
    intake = compose()["services"]["intake"]
    port, path = health_path(" ".join(intake["healthcheck"]["test"]))
    assert path in routes()
    assert path == "/readyz"
    assert intake["environment"]["PORT"] == port
    assert any(mapping.endswith(f":{port}") for mapping in intake["ports"])
    assert all(mapping.startswith("127.0.0.1:") for mapping in intake["ports"])
    assert instruction("EXPOSE") == [port]


def test_compose_trusts_only_the_gateway_its_proxy_connects_through():
    document = compose()
    (network,) = document["networks"]["default"]["ipam"]["config"]
    proxies = document["services"]["intake"]["environment"]["INTAKE_TRUSTED_PROXIES"]
    assert f"{network['gateway']}/32" in proxies
    Settings(trusted_proxies=f"{network['gateway']}/32")


# -- Dockerfile ----------------------------------------------------------------------


def test_dockerfile_uses_a_slim_official_python_pinned_by_tag():
    (base,) = instruction("FROM")
    assert re.fullmatch(r"python:3\.\d+(\.\d+)?-slim(-\w+)?", base), base


def test_dockerfile_runs_as_a_user_who_is_not_root():
    users = instruction("USER")
    assert users and users[-1] not in ("root", "0")
    ops = [op for op, _ in dockerfile()]
    assert ops.index("USER") < ops.index("CMD")


def test_dockerfile_installs_and_starts_through_the_script_ci_runs():
    (install,) = [args for args in instruction("RUN") if f"{SCRIPT} install" in args]
    venv = install.split(f"{SCRIPT} install", 1)[1].split()[0]
    (command,) = instruction("CMD")
    assert yaml.safe_load(command)[-3:] == [
        f"/opt/witness-intake/src/{SCRIPT}",
        "start",
        venv,
    ]
    assert "COPY . /opt/witness-intake/src" in [f"COPY {a}" for a in instruction("COPY")]
    assert os.access(ROOT / SCRIPT, os.X_OK)


def test_dockerfile_health_check_asks_readyz_without_curl():
    (check,) = instruction("HEALTHCHECK")
    assert "curl" not in check and "python" in check
    _port, path = health_path(check.replace("%s", "8080"))
    assert path == "/readyz" and path in routes()


# -- the guide -----------------------------------------------------------------------


def test_readme_links_the_guide():
    assert "(docs/deploy.md)" in (ROOT / "README.md").read_text()


def test_every_block_in_the_guide_says_whether_ci_checks_it():
    blocks = code_blocks(guide())
    assert len(blocks) > 10
    for label, _language, body in blocks:
        assert re.search(r"\*(Checked in CI|Manual)\b", label), (label, body[:80])


def test_every_service_command_in_the_guide_exists():
    parser = _parser()
    seen = set()
    for _label, _language, body in code_blocks(guide()):
        for line in body.splitlines():
            match = re.search(
                r"(?:^|[\s(])(?:witness-intake|intake-admin|python -m bot) (\S.*)$", line
            )
            if not match:
                continue
            words = []
            for word in shlex.split(match.group(1), comments=True):
                if word in ("&&", "||", "|", ";", "<", ">") or word.startswith(("<", ">")):
                    break
                words.append(word)
            parser.parse_args(words)
            seen.add(" ".join(words[:2]))
    for command in ("migrate", "keys rotate", "keys retire", "keys status"):
        assert any(s.startswith(command) for s in seen), command
    assert "twilio configure" in seen and "telegram set-webhook" in seen


def test_guide_names_only_settings_the_service_reads():
    known = settings_env_names()
    for _label, _language, body in code_blocks(guide()):
        assert set(SETTING_NAME.findall(body)) <= known, set(SETTING_NAME.findall(body)) - known


def test_guide_gives_the_shipped_unit_caddyfile_and_admin_script():
    blocks = [body for _label, _language, body in code_blocks(guide())]
    for name in ("witness-intake.service", "Caddyfile", "intake-admin.sh"):
        assert (ROOT / "deploy" / name).read_text() in blocks, name


def test_systemd_unit_runs_the_start_script_unprivileged_and_confined():
    unit = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "witness-intake.service").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert unit["User"] not in ("root", "0")
    assert f"/{SCRIPT} start " in unit["ExecStart"]
    assert unit["ReadWritePaths"] == data_dir()
    assert unit["NoNewPrivileges"] == "yes"
    assert unit["ProtectSystem"] == "strict"
    admin = (ROOT / "deploy" / "intake-admin.sh").read_text()
    assert f"--uid={unit['User']}" in admin
    assert f"EnvironmentFile={unit['EnvironmentFile']}" in admin


def test_the_guides_key_command_makes_a_key_the_service_accepts():
    (line,) = [
        line for line in guide().splitlines() if line.startswith("python3 -c") and "32" in line
    ]
    out = subprocess.run(  # noqa: S603 - a command from our own guide
        [sys.executable, *shlex.split(line)[1:]],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    assert len(decode_key(out)) == 32
    Settings(master_key=f"1:{out}")


def test_scripts_are_valid_shell():
    for script in sorted((ROOT / "deploy").glob("*.sh")):
        subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)  # noqa: S603, S607
        if shutil.which("shellcheck"):
            subprocess.run(["shellcheck", str(script)], check=True, timeout=60)  # noqa: S603, S607


# -- install and start, as the image does ----------------------------------------------


def dockerignored() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build_context(into: Path) -> Path:
    """A copy of the source holding what `docker build .` would be given, and no more."""
    patterns = dockerignored()

    def ignored(directory: str, names: list[str]) -> set[str]:
        relative = Path(directory).relative_to(ROOT)
        skip = set()
        for name in names:
            path = (relative / name).as_posix()
            for pattern in patterns:
                anywhere = pattern.removeprefix("**/")
                if fnmatch.fnmatch(path, pattern) or (
                    pattern.startswith("**/") and fnmatch.fnmatch(name, anywhere)
                ):
                    skip.add(name)
        return skip

    target = into / "src"
    shutil.copytree(ROOT, target, ignore=ignored, symlinks=True)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INTAKE_", "TWILIO_", "TELEGRAM_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(extra)
    return env


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - local http
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_build_context_leaves_out_local_state(tmp_path):
    source = build_context(tmp_path)
    assert (source / SCRIPT).exists() and (source / "pyproject.toml").exists()
    assert (source / "README.md").exists(), "pyproject.toml names README.md as the readme"
    for left_out in (".venv", ".git", "var", "tests", ".env"):
        assert not (source / left_out).exists(), left_out


def test_install_script_from_a_clean_copy_serves_readyz(tmp_path):
    source = build_context(tmp_path)
    venv = tmp_path / "venv"
    data = tmp_path / "data"
    env = clean_env(PYTHON=sys.executable)
    installed = subprocess.run(  # noqa: S603 - our own script
        [str(source / SCRIPT), "install", str(venv), str(source)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert "installed witness-intake" in installed.stdout
    # Not editable: the service runs from the virtual environment, not the copy.
    located = subprocess.run(  # noqa: S603
        [str(venv / "bin" / "python"), "-c", "import bot; print(bot.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert located.stdout.startswith(str(venv))

    runtime = clean_env(INTAKE_DATA_DIR=str(data))
    for command in (["migrate"], ["keys", "status"]):
        ran = subprocess.run(  # noqa: S603 - the installed command
            [str(venv / "bin" / "witness-intake"), *command],
            env=runtime,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, (command, ran.stderr[-2000:])

    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own script
        [str(source / SCRIPT), "start", str(venv)],
        env=clean_env(INTAKE_DATA_DIR=str(data), PORT=str(port)),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        answer = 0
        while time.monotonic() < deadline and server.poll() is None:
            answer = status(f"http://127.0.0.1:{port}/readyz")
            if answer == 200:
                break
            time.sleep(0.1)
        assert answer == 200, f"/readyz answered {answer}; exit {server.poll()}"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    # exec: the stop signal reached the service itself, which shut down cleanly (uvicorn
    # ends by re-raising the signal it was stopped with).
    assert server.returncode in (0, -signal.SIGTERM), output[-3000:]
    assert "Application shutdown complete" in output
    assert (data / "master.keys").exists()


@pytest.mark.parametrize("arguments", [[], ["unknown"], ["install"], ["start", "a", "b"]])
def test_script_refuses_wrong_arguments(arguments):
    ran = subprocess.run(  # noqa: S603 - our own script
        [str(ROOT / SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 2 and "usage:" in ran.stderr
