"""The deployment files (deploy/) say the topology docs/scaling.md describes, and stay in step
with the versions the tests ran with. Nothing here starts a container or a cluster: the files
are parsed and their claims checked, so a regression in any of them fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# Top-level keys of RasaHQ/helm-charts' charts at the versions the values files follow
# (charts/rasa/values.yaml of chart 1.17.3; charts/rasa-action-server/values.yaml of 1.0.3).
RASA_CHART_KEYS = {
    "nameOverride", "fullnameOverride", "registry", "applicationSettings", "replicaCount",
    "networkPolicy", "args", "extraArgs", "command", "extraEnv", "image", "serviceAccount",
    "podAnnotations", "podLabels", "deploymentAnnotations", "deploymentLabels",
    "podSecurityContext", "securityContext", "service", "ingress", "resources", "autoscaling",
    "nodeSelector", "tolerations", "affinity", "strategy", "livenessProbe", "readinessProbe",
    "initContainers", "extraContainers", "volumes", "volumeMounts", "global", "postgresql",
    "redis", "rabbitmq", "nginx", "rasa-action-server", "duckling",
}  # fmt: skip
RASA_CHART_SETTINGS = {
    "debugMode", "initialModel", "trainInitialModel", "port", "scheme", "token", "cors",
    "enableAPI", "credentials", "telemetry", "endpoints", "rasaX",
}  # fmt: skip
RASA_CHART_ENDPOINTS = {"models", "trackerStore", "lockStore", "eventBroker", "action", "additionalEndpoints"}
ACTION_CHART_KEYS = {
    "nameOverride", "fullnameOverride", "registry", "applicationSettings", "replicaCount", "args",
    "command", "extraEnv", "image", "serviceAccount", "podAnnotations", "podLabels",
    "deploymentAnnotations", "deploymentLabels", "podSecurityContext", "securityContext",
    "service", "ingress", "resources", "autoscaling", "nodeSelector", "tolerations", "affinity",
    "strategy", "livenessProbe", "readinessProbe", "initContainers", "volumes", "volumeMounts",
}  # fmt: skip

VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")  # ${NAME}, ${NAME:-x}, ${NAME:?x}
ESCAPED_VAR = re.compile(r"\$\$\{?([A-Za-z_][A-Za-z0-9_]*)")  # compose's $$NAME: read in the container


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def pinned(package: str) -> str:
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package:
            return version.strip()
    raise AssertionError(f"requirements.lock pins no {package}")


@pytest.fixture(scope="module")
def compose():
    return load(DEPLOY / "docker-compose.yml")


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


@pytest.fixture(scope="module")
def endpoints():
    return load(DEPLOY / "endpoints.yml")


@pytest.fixture(scope="module")
def rasa_values():
    return load(DEPLOY / "helm" / "rasa-values.yaml")


@pytest.fixture(scope="module")
def action_values():
    return load(DEPLOY / "helm" / "rasa-action-server-values.yaml")


def command_text(service) -> str:
    parts: list[str] = []
    for key in ("entrypoint", "command"):
        value = service.get(key) or []
        parts += value if isinstance(value, list) else [value]
    return " ".join(parts)


def replicas(service) -> int:
    return int((service.get("deploy") or {}).get("replicas", 1))


def rasa_servers(services) -> dict:
    return {name: s for name, s in services.items() if "rasa run" in command_text(s)}


def env_of(service) -> dict:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment is written as a mapping"
    return env


def dockerfile_arg(name: str, dockerfile: str) -> str:
    text = (DEPLOY / dockerfile).read_text(encoding="utf-8")
    match = re.search(rf"^ARG {name}=(\S+)$", text, re.MULTILINE)
    assert match, f"{dockerfile} declares ARG {name}=<version>"
    return match.group(1)


# --- the topology ---------------------------------------------------------------------


def test_every_part_of_the_topology_is_there(services):
    for name in ("postgres", "redis", "rabbitmq", "migrate", "actions", "desk", "nginx"):
        assert name in services, f"docker-compose.yml has no {name} service"
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["rabbitmq"]["image"] == "rabbitmq:3-management"
    assert services["nginx"]["image"].startswith("nginx:")


def test_at_least_two_rasa_servers(services):
    servers = rasa_servers(services)
    assert sum(replicas(s) for s in servers.values()) >= 2, "one Rasa server is not beyond one machine"


def test_several_actions_processes(services):
    assert replicas(services["actions"]) > 1
    assert "makegood_rasa.action_server" in (DEPLOY / "Dockerfile.actions").read_text(encoding="utf-8")


def test_only_nginx_publishes_a_port(services):
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"nginx"}


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if name == "migrate":
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_rasa_waits_for_its_stores_and_the_schema(services):
    for name, server in rasa_servers(services).items():
        depends = server["depends_on"]
        for store in ("postgres", "redis", "rabbitmq", "actions"):
            assert depends[store]["condition"] == "service_healthy", f"{name} must wait for {store}"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    for name in ("actions", "desk"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    nginx = services["nginx"]["depends_on"]
    for name in [*rasa_servers(services), "actions", "desk"]:
        assert nginx[name]["condition"] == "service_healthy", f"nginx resolves {name} at start: it must be up"


# --- Rasa's endpoints -------------------------------------------------------------------


def test_the_endpoints_share_state_between_rasa_servers(endpoints):
    assert endpoints["tracker_store"]["type"].lower() == "sql"
    assert endpoints["tracker_store"]["url"] == "${MAKEGOOD_DATABASE_URL}"
    assert endpoints["lock_store"]["type"] == "redis"
    assert endpoints["event_broker"]["type"] == "pika"
    assert endpoints["event_broker"]["queues"]
    assert endpoints["action_endpoint"]["token"] == "${MAKEGOOD_ACTIONS_TOKEN}"


def test_every_rasa_server_uses_these_endpoints_on_postgresql(services):
    assert "COPY deploy/endpoints.yml /app/deploy/endpoints.yml" in (DEPLOY / "Dockerfile.rasa").read_text(
        encoding="utf-8"
    )
    for name, server in rasa_servers(services).items():
        assert "--endpoints /app/deploy/endpoints.yml" in command_text(server), name
        assert env_of(server)["MAKEGOOD_DATABASE_URL"].startswith("postgresql://"), name
        assert "@postgres:5432/" in env_of(server)["MAKEGOOD_DATABASE_URL"], name
        assert env_of(server)["MAKEGOOD_REDIS_HOST"] == "redis"
        assert env_of(server)["MAKEGOOD_RABBITMQ_HOST"] == "rabbitmq"


def test_every_variable_of_the_endpoints_is_set_for_rasa(services):
    # Rasa refuses to start on an unset ${VAR} in endpoints.yml.
    wanted = set(VAR.findall((DEPLOY / "endpoints.yml").read_text(encoding="utf-8")))
    assert wanted
    for name, server in rasa_servers(services).items():
        missing = wanted - set(env_of(server))
        assert not missing, f"{name} does not set {sorted(missing)}"


def test_rasa_servers_start_one_after_the_other(services):
    # The first creates the tracker store's tables; two creating them at once can collide.
    first, *others = sorted(rasa_servers(services))
    for name in others:
        assert services[name]["depends_on"][first]["condition"] == "service_healthy", name


def test_rasa_reaches_the_actions_through_the_balancer(services):
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for server in rasa_servers(services).values():
        assert env_of(server)["MAKEGOOD_ACTION_URL"] == "http://nginx:5055/webhook"
    assert re.search(r"listen 5055;\s*location / \{\s*proxy_pass http://actions;", nginx)
    assert re.search(r"upstream actions \{[^}]*server actions:5055", nginx)


def test_the_balancer_knows_every_rasa_server(services):
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for block in ("rasa", "rasa_socketio"):
        upstream = re.search(rf"upstream {block} \{{([^}}]*)\}}", nginx)
        assert upstream, f"nginx.conf has no upstream {block}"
        listed = set(re.findall(r"server ([\w.-]+):5005", upstream.group(1)))
        assert listed == set(rasa_servers(services)), f"upstream {block} lists {sorted(listed)}"


def test_the_public_port_does_not_expose_rasas_api():
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    public = nginx[nginx.index("listen 80;") : nginx.index("listen 5005;")]
    to_rasa = re.findall(r"location (\S+) \{\s*proxy_pass http://rasa", public)
    assert sorted(to_rasa) == ["/socket.io/", "/webhooks/"]


# --- versions ---------------------------------------------------------------------------


def test_rasa_images_follow_the_locked_rasa_version(services, rasa_values):
    rasa = pinned("rasa")
    assert rasa.startswith("3.6.")
    assert dockerfile_arg("RASA_VERSION", "Dockerfile.rasa") == rasa
    assert "FROM rasa/rasa:${RASA_VERSION}-full" in (DEPLOY / "Dockerfile.rasa").read_text(encoding="utf-8")
    for name, service in services.items():
        if service.get("build", {}).get("dockerfile") == "deploy/Dockerfile.rasa":
            assert service["build"]["args"]["RASA_VERSION"] == rasa, name
            assert service["image"] == f"makegood/rasa:{rasa}", name
    assert rasa_values["image"]["tag"] == rasa


def test_action_images_follow_the_locked_rasa_sdk_version(services, action_values):
    sdk = pinned("rasa-sdk")
    assert sdk.split(".")[:2] == pinned("rasa").split(".")[:2], "rasa-sdk and rasa share major.minor"
    assert dockerfile_arg("RASA_SDK_VERSION", "Dockerfile.actions") == sdk
    assert "FROM rasa/rasa-sdk:${RASA_SDK_VERSION}" in (DEPLOY / "Dockerfile.actions").read_text(encoding="utf-8")
    assert services["actions"]["build"]["args"]["RASA_SDK_VERSION"] == sdk
    assert services["actions"]["image"] == f"makegood/actions:{sdk}"
    assert action_values["image"]["tag"] == sdk


# --- secrets and documented variables ---------------------------------------------------


def test_secrets_come_from_the_environment_and_are_required(services):
    for name, service in services.items():
        for key, value in env_of(service).items():
            if any(word in key for word in ("TOKEN", "SECRET", "PASS", "REDISCLI_AUTH", "DATABASE_URL")):
                assert "${" in str(value) and ":?" in str(value), f"{name}: {key} must be ${{VAR:?...}}"


def deploy_variables() -> set[str]:
    names: set[str] = set()
    for path in [
        DEPLOY / "docker-compose.yml",
        DEPLOY / "endpoints.yml",
        DEPLOY / "helm" / "rasa-values.yaml",
        DEPLOY / "helm" / "rasa-action-server-values.yaml",
    ]:
        text = path.read_text(encoding="utf-8")
        names |= set(VAR.findall(text)) | set(ESCAPED_VAR.findall(text))
    for values in ("rasa-values.yaml", "rasa-action-server-values.yaml"):
        names |= {e["name"] for e in load(DEPLOY / "helm" / values).get("extraEnv", [])}
    return names


def test_every_variable_the_deployment_uses_is_documented():
    names = deploy_variables()
    assert {"MAKEGOOD_ACTIONS_TOKEN", "MAKEGOOD_RASA_TOKEN", "MAKEGOOD_IDENTITY_SECRET"} <= names
    docs = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8") + (ROOT / "docs" / "operations.md").read_text(
        encoding="utf-8"
    )
    undocumented = sorted(n for n in names if f"`{n}`" not in docs)
    assert not undocumented, f"not in docs/scaling.md or docs/operations.md: {undocumented}"


def test_the_env_example_names_every_required_variable(compose):
    text = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", text))
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    missing = sorted(n for n in required if not re.search(rf"^{n}=", example, re.MULTILINE))
    assert not missing, f"deploy/env.example lacks {missing}"


# --- Helm values ------------------------------------------------------------------------


def test_rasa_values_use_only_the_charts_keys(rasa_values):
    assert set(rasa_values) <= RASA_CHART_KEYS, sorted(set(rasa_values) - RASA_CHART_KEYS)
    settings = rasa_values["applicationSettings"]
    assert set(settings) <= RASA_CHART_SETTINGS, sorted(set(settings) - RASA_CHART_SETTINGS)
    assert set(settings["endpoints"]) <= RASA_CHART_ENDPOINTS, sorted(set(settings["endpoints"]) - RASA_CHART_ENDPOINTS)


def test_action_values_use_only_the_charts_keys(action_values):
    assert set(action_values) <= ACTION_CHART_KEYS, sorted(set(action_values) - ACTION_CHART_KEYS)


def test_rasa_values_share_state_between_replicas(rasa_values):
    assert rasa_values["replicaCount"] >= 2
    endpoints = rasa_values["applicationSettings"]["endpoints"]
    assert endpoints["trackerStore"]["enabled"] and endpoints["trackerStore"]["type"] == "sql"
    assert endpoints["trackerStore"]["dialect"] == "postgresql"
    assert endpoints["lockStore"]["enabled"] and endpoints["lockStore"]["type"] == "redis"
    assert endpoints["eventBroker"]["enabled"] and endpoints["eventBroker"]["type"] == "pika"
    # The chart's values schema types these as strings.
    for store, key in [("trackerStore", "port"), ("lockStore", "port"), ("lockStore", "db"), ("eventBroker", "port")]:
        assert isinstance(endpoints[store][key], str), f"{store}.{key} must be a string for the chart's schema"
    assert rasa_values["postgresql"]["install"] is False and rasa_values["postgresql"]["external"]["enabled"]


def test_rasa_values_call_the_action_release_with_the_token(rasa_values, action_values):
    action = rasa_values["applicationSettings"]["endpoints"]["additionalEndpoints"]["action_endpoint"]
    assert action["token"] == "${MAKEGOOD_ACTIONS_TOKEN}"
    name, port = action_values["fullnameOverride"], action_values["service"]["port"]
    assert action["url"] == f"http://{name}:{port}/webhook"
    # The chart's own action endpoint (url only, no token) must stay off.
    assert rasa_values["rasa-action-server"]["install"] is False
    assert rasa_values["rasa-action-server"]["external"]["enabled"] is False
    assert "MAKEGOOD_ACTIONS_TOKEN" in {e["name"] for e in rasa_values["extraEnv"]}


def test_action_values_run_several_token_checking_workers(action_values):
    assert action_values["replicaCount"] > 1
    env = {e["name"]: e for e in action_values["extraEnv"]}
    for secret in ("MAKEGOOD_ACTIONS_TOKEN", "MAKEGOOD_IDENTITY_SECRET", "MAKEGOOD_DATABASE_URL"):
        assert "secretKeyRef" in env[secret]["valueFrom"], f"{secret} comes from a Kubernetes secret"
    assert action_values["applicationSettings"]["port"] == action_values["service"]["port"] == 5055


def test_no_secret_is_written_into_the_values(rasa_values):
    assert rasa_values["applicationSettings"]["token"] == "", "pass the Rasa token with --set at install time"
    for values in ("rasa-values.yaml", "rasa-action-server-values.yaml"):
        for entry in load(DEPLOY / "helm" / values).get("extraEnv", []):
            if any(word in entry["name"] for word in ("TOKEN", "SECRET", "PASSWORD", "DATABASE_URL")):
                assert "value" not in entry, f"{values}: {entry['name']} must come from a secret"


@pytest.mark.parametrize("dockerfile", ["Dockerfile.rasa", "Dockerfile.actions"])
def test_images_keep_setuptools_that_still_has_pkg_resources(dockerfile):
    # spaCy 3.4 (and Rasa 3.6) import pkg_resources; setuptools dropped it (the Makefile pins it too).
    assert '"setuptools<71"' in (DEPLOY / dockerfile).read_text(encoding="utf-8")
    assert '"setuptools<71"' in (ROOT / "Makefile").read_text(encoding="utf-8")
