"""deploy/'s compose file, Kubernetes manifests and systemd units, checked offline: each against
its checker where this machine has one (Compose's own `config`, `systemd-analyze verify`) and the
bundled schemas (tests/deploy/schemas/), and all of them against the code: a worker for every
queue the code defines, sized as deploy/up runs it, and beat exactly once."""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.test import Client, override_settings

from backend.core.queues import LANES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCHEMAS = Path(__file__).with_name("schemas")
QUEUE_BASE = "anxin-prod"


def deploy_up_workers() -> dict[str, tuple[str, int]]:
    """{lane: (pool, concurrency)}: the sizes deploy/up runs, the one place they are chosen."""
    line = next(
        line for line in (DEPLOY / "up").read_text().splitlines() if line.startswith("WORKERS=(")
    )
    sizes = {}
    for entry in shlex.split(line.removeprefix("WORKERS=(").removesuffix(")")):
        lane, pool, concurrency = entry.split()
        sizes[lane] = (pool, int(concurrency))
    return sizes


def pool_share(pool: str, concurrency: int) -> int:
    """DATABASE_POOL_MAX of one worker process, as deploy/up gives it (docs/serving.md)."""
    return concurrency + 1 if pool == "threads" else 2


def worker_args(argv: list[str]) -> tuple[str, str, int]:
    """(queue, pool, concurrency) of a `celery ... worker` command line."""
    queue = argv[argv.index("-Q") + 1]
    options = dict(arg.removeprefix("--").split("=", 1) for arg in argv if arg.startswith("--"))
    return queue, options["pool"], int(options["concurrency"])


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def k8s_documents() -> list[dict]:
    return [
        doc
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def systemd_units() -> dict[str, dict[str, list[str]]]:
    """{file name: {key: [values]}} of every unit in deploy/systemd (sections flattened)."""
    units = {}
    for path in sorted((DEPLOY / "systemd").glob("anxin*")):
        keys: dict[str, list[str]] = {}
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                keys.setdefault(key, []).append(value)
        units[path.name] = keys
    return units


def test_deploy_up_runs_a_worker_for_every_queue_the_code_defines():
    assert set(deploy_up_workers()) == set(LANES)


# -- compose ----------------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec_schema():
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(compose())


def test_compose_spec_schema_refuses_what_compose_would():
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    broken = compose()
    broken["services"]["web"]["healthcheck"]["intervall"] = "15s"

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft201909Validator(schema).validate(broken)


def compose_checker() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_config_accepts_the_compose_file(tmp_path):
    checker = compose_checker()
    if checker is None:
        pytest.skip(
            "neither `docker compose` nor `docker-compose` is installed (Debian 12: apt-get "
            "install docker-compose); the compose-spec schema test above still ran"
        )
    # Its env file is made from the committed example: the real one holds secrets and is never
    # in the repository.
    (tmp_path / "deploy").mkdir()
    shutil.copy(DEPLOY / "compose.yaml", tmp_path / "deploy" / "compose.yaml")
    shutil.copy(DEPLOY / "anxin.env.example", tmp_path / "deploy" / "anxin.env")
    result = subprocess.run(
        [*checker, "-f", "deploy/compose.yaml", "config", "-q"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "POSTGRES_PASSWORD": "checked-offline"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_a_worker_per_queue_sized_as_deploy_up_and_beat_once():
    services = compose()["services"]
    sizes = deploy_up_workers()
    for lane in LANES:
        service = services[f"worker-{lane}"]
        pool, concurrency = sizes[lane]
        assert worker_args(service["command"]) == (f"{QUEUE_BASE}-{lane}", pool, concurrency)
        assert service["environment"]["CELERY_QUEUE"] == QUEUE_BASE
        assert service["environment"]["DATABASE_POOL_MAX"] == str(pool_share(pool, concurrency))
    workers = [name for name, s in services.items() if "worker" in s.get("command", [])]
    assert sorted(workers) == sorted(f"worker-{lane}" for lane in LANES)
    beats = [name for name, s in services.items() if "beat" in s.get("command", [])]
    assert beats == ["beat"] and services["beat"]["deploy"]["replicas"] == 1
    for name in [*workers, "beat", "web"]:
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


# -- Kubernetes -------------------------------------------------------------------------------


def k8s_validator() -> tuple[dict, type[jsonschema.Draft202012Validator]]:
    return json.loads((SCHEMAS / "kubernetes-1.32-strict.json").read_text()), (
        jsonschema.Draft202012Validator
    )


def k8s_validate(doc: dict) -> None:
    bundle, validator = k8s_validator()
    kind = f"{doc['apiVersion']}/{doc['kind']}"
    assert kind in bundle["kinds"], f"{kind}: not in the bundled schemas (bundle_kubernetes.py)"
    pointer = kind.replace("/", "~1")
    validator({"$ref": f"#/kinds/{pointer}", **bundle}).validate(doc)


def test_kubernetes_manifests_are_valid_against_the_bundled_schemas():
    documents = k8s_documents()
    for doc in documents:
        k8s_validate(doc)
    assert {d["kind"] for d in documents} >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "Job",
        "Secret",
        "ConfigMap",
    }


def test_bundled_kubernetes_schemas_refuse_an_unknown_field():
    [web] = [d for d in k8s_documents() if d["metadata"]["name"] == "anxin-web"][:1]
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}

    with pytest.raises(jsonschema.ValidationError):
        k8s_validate(web)


def deployments() -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in k8s_documents() if d["kind"] == "Deployment"}


def container(deployment: dict) -> dict:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only


def test_kubernetes_runs_a_worker_per_queue_sized_as_deploy_up_and_beat_as_a_singleton():
    found = deployments()
    config = next(d for d in k8s_documents() if d["kind"] == "ConfigMap")
    assert config["data"]["CELERY_QUEUE"] == QUEUE_BASE
    sizes = deploy_up_workers()
    for lane in LANES:
        worker = container(found[f"anxin-worker-{lane}"])
        pool, concurrency = sizes[lane]
        assert worker_args(worker["command"]) == (f"{QUEUE_BASE}-{lane}", pool, concurrency)
        assert {"name": "DATABASE_POOL_MAX", "value": str(pool_share(pool, concurrency))} in (
            worker["env"]
        )
    workers = [n for n, d in found.items() if "worker" in container(d).get("command", [])]
    assert sorted(workers) == sorted(f"anxin-worker-{lane}" for lane in LANES)
    beats = [n for n, d in found.items() if "beat" in container(d).get("command", [])]
    assert beats == ["anxin-beat"]
    assert found["anxin-beat"]["spec"]["replicas"] == 1
    assert found["anxin-beat"]["spec"]["strategy"] == {"type": "Recreate"}


def test_kubernetes_web_probes_readiness_on_healthz_and_liveness_on_healthz_live():
    web = container(deployments()["anxin-web"])
    assert web["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz/live"
    hpa = next(d for d in k8s_documents() if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "anxin-web"


def test_only_the_web_tier_goes_through_pgbouncer():
    """The sweeps hold a session's advisory lock across transactions (backend/core/sweeps.py),
    and migrations take locks: under transaction pooling neither stays on one server
    connection. Only the web processes connect through PgBouncer."""
    for name, deployment in deployments().items():
        env = {e["name"]: e for e in container(deployment).get("env", [])}
        through = "DATABASE_PGBOUNCER" in env
        assert through == (name == "anxin-web"), name
        if through:
            assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_POOLED_URL"
    job = next(d for d in k8s_documents() if d["kind"] == "Job")
    assert "env" not in job["spec"]["template"]["spec"]["containers"][0]
    pgbouncer = {
        e["name"]: e.get("value") for e in container(deployments()["anxin-pgbouncer"])["env"]
    }
    assert pgbouncer["POOL_MODE"] == "transaction"


def test_secrets_in_the_manifests_are_empty_templates():
    secrets = [d for d in k8s_documents() if d["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        assert "data" not in secret
        assert set(secret["stringData"].values()) == {""}, secret["metadata"]["name"]


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    ALLOWED_HOSTS=["anxin.example.org", "localhost"],
)
def test_the_probes_headers_reach_the_health_views_under_production_security():
    """Without them a probe over plain HTTP gets the HTTPS redirect, which Kubernetes counts as a
    success whatever the platform's state; or a refused Host, a failure whatever it is."""
    probe = container(deployments()["anxin-web"])["livenessProbe"]["httpGet"]
    headers = {h["name"]: h["value"] for h in probe["httpHeaders"]}
    client = Client()

    bare = client.get(probe["path"], HTTP_HOST=headers["Host"])
    answered = client.get(
        probe["path"],
        headers={"X-Forwarded-Proto": headers["X-Forwarded-Proto"]},
        HTTP_HOST=headers["Host"],
    )

    assert bare.status_code == 301
    assert answered.status_code == 200
    compose_probe = " ".join(compose()["services"]["web"]["healthcheck"]["test"])
    assert (
        '"Host": "localhost"' in compose_probe and '"X-Forwarded-Proto": "https"' in compose_probe
    )


# -- systemd ----------------------------------------------------------------------------------


def exec_path(command: str) -> str:
    return shlex.split(command.lstrip("-@:+!"))[0]


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: the systemd package)")
    system = next(
        p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()
    )
    # An alternative root: the system's own units, ours, and each program they start at its
    # installed path (/srv/anxin), taken from this checkout, which must have it.
    shutil.copytree(system, tmp_path / "usr/lib/systemd/system", symlinks=True)
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    for path in (DEPLOY / "systemd").glob("anxin*"):
        shutil.copy(path, units / path.name)
    for keys in systemd_units().values():
        for command in keys.get("ExecStart", []):
            program = exec_path(command)
            source = ROOT / Path(program).relative_to("/srv/anxin")
            assert source.exists(), f"{program}: no {source} in the checkout"
            stub = tmp_path / program.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)

    result = subprocess.run(
        [analyze, "verify", "--man=no", "--generators=no", f"--root={tmp_path}"]
        + sorted(p.name for p in units.iterdir()),
        cwd=units,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0 and not result.stdout + result.stderr, (
        result.stdout + result.stderr
    )


def test_systemd_runs_a_worker_per_queue_sized_as_deploy_up_beat_once_after_migrations():
    units = systemd_units()
    sizes = deploy_up_workers()
    for lane in LANES:
        unit = units[f"anxin-worker-{lane}.service"]
        pool, concurrency = sizes[lane]
        [command] = unit["ExecStart"]
        assert worker_args(shlex.split(command)) == (f"{QUEUE_BASE}-{lane}", pool, concurrency)
        environment = " ".join(unit["Environment"])
        assert f"CELERY_QUEUE={QUEUE_BASE}" in environment
        assert f"DATABASE_POOL_MAX={pool_share(pool, concurrency)}" in environment
    workers = [n for n, u in units.items() if any(" worker " in c for c in u.get("ExecStart", []))]
    assert sorted(workers) == sorted(f"anxin-worker-{lane}.service" for lane in LANES)
    beats = [n for n, u in units.items() if any(" beat " in c for c in u.get("ExecStart", []))]
    assert beats == ["anxin-beat.service"]
    target = " ".join(units["anxin.target"]["Wants"])
    for name, unit in units.items():
        if name.endswith(".service"):
            assert name in target
            assert unit.get("Restart") == ["always"] or name == "anxin-migrate.service"
            assert unit["EnvironmentFile"] == ["/etc/anxin/anxin.env"]
            if name != "anxin-migrate.service":
                assert unit["Requires"] == ["anxin-migrate.service"]
    assert re.search(r"\bType=oneshot\b", (DEPLOY / "systemd/anxin-migrate.service").read_text())


def systemd_expanded(command: str) -> str:
    """`command` as systemd passes it on: `%%` is one `%`, `%H` the host name, `%l` its short
    name; any other specifier is named here before a unit may use it."""
    specifiers = {"%": "%", "H": "vm1.example.org", "l": "vm1"}
    return re.sub(r"%(.)", lambda m: specifiers[m.group(1)], command)


def test_every_workers_node_name_is_one_celery_can_expand():
    """Celery expands `%h`, `%n`, `%d` (and `%i`, `%I`) in `-n` and refuses to start on any
    other (`%H`: "Unknown format"); systemd turns `%%` into `%` before Celery sees it."""
    from celery.utils.nodenames import default_nodename, host_format

    commands = [s["command"] for s in compose()["services"].values() if "worker" in s["command"]]
    commands += [
        container(d)["command"]
        for d in deployments().values()
        if "worker" in container(d).get("command", [])
    ]
    commands += [
        shlex.split(systemd_expanded(command))
        for unit in systemd_units().values()
        for command in unit.get("ExecStart", [])
        if " worker " in command
    ]
    assert len(commands) == 3 * len(LANES)
    for argv in commands:
        name = argv[argv.index("-n") + 1]
        expanded = host_format(default_nodename(name))  # as `celery worker -n` does
        assert "%" not in expanded, (name, expanded)


def test_each_named_volume_of_the_image_is_made_in_it_and_belongs_to_its_user():
    """Docker makes a named volume's mount point root's, 0755, unless the image has the folder
    (its owner is then copied to the new volume): beat, running as the image's user, could not
    write its schedule there and would stop at once."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    workdir = Path(re.findall(r"^WORKDIR (\S+)", dockerfile, re.M)[-1])
    made = {
        Path(p) for group in re.findall(r"mkdir -p ([^&\n]+)", dockerfile) for p in group.split()
    }
    owned = [
        (bool(recursive), Path(p))
        for recursive, targets in re.findall(r"chown (-R )?anxin:anxin ([^&\n]+)", dockerfile)
        for p in targets.split()
    ]
    mounts = [
        Path(volume.split(":")[1])
        for service in compose()["services"].values()
        if service.get("image", "").startswith("${ANXIN_IMAGE")
        for volume in service.get("volumes", [])
    ]
    assert mounts
    for mount in mounts:
        relative = mount.relative_to(workdir)
        assert relative in made, f"{mount}: not made in the image"
        assert any(
            path == relative or (recursive and path in relative.parents)
            for recursive, path in owned
        ), f"{mount}: not the image user's"


def test_every_systemd_unit_gets_each_setting_production_requires():
    """A VM's units read /etc/anxin/anxin.env, made from the example (docs/production.md): what
    neither it nor the unit names, production settings refuse to start without."""
    from tests.test_production_settings import PRODUCTION_ENV

    example = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "anxin.env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    required = set(PRODUCTION_ENV) - {"DJANGO_SETTINGS_MODULE"}
    for name, unit in systemd_units().items():
        if not name.endswith(".service"):
            continue
        given = example | {
            pair.split("=", 1)[0] for value in unit.get("Environment", []) for pair in value.split()
        }
        assert required <= given, (name, sorted(required - given))
