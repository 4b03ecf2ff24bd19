#!/usr/bin/env python3
"""Checks the deployment files against the binary they deploy.

Every YAML file under deploy/ parses; the Kubernetes manifests hold the
objects the docs promise; every herald command and flag that the Dockerfile,
deploy/compose.yaml and deploy/k8s/ run exists in `herald <command> --help`;
every HERALD_* variable they set is a setting `herald config` knows; every
probe path is a route of the OpenAPI document; no secret value is committed;
and the image's last stage runs as an unprivileged user.

Usage: deploy_files_test.py HERALD_BINARY REPO_DIR
"""
import json
import pathlib
import re
import subprocess
import sys

import yaml

failures = []


def fail(message):
    failures.append(message)


def herald_commands(repo):
    """(where, argv) for every herald invocation the deployment files make."""
    commands = []
    dockerfile = (repo / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    if not cmd:
        fail("Dockerfile: no CMD in exec form")
    else:
        commands.append(("Dockerfile CMD", json.loads(cmd.group(1))))
    compose = yaml.safe_load((repo / "deploy/compose.yaml").read_text())
    for name, service in compose["services"].items():
        if str(service.get("image", "")).startswith("herald"):
            if "command" not in service:
                fail(f"deploy/compose.yaml: service {name} runs herald without a command")
                continue
            commands.append((f"deploy/compose.yaml service {name}", service["command"]))
    for path in sorted((repo / "deploy/k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for container in containers_of(doc):
                if str(container.get("image", "")).startswith("herald"):
                    commands.append((f"{path.relative_to(repo)} container {container['name']}", container["args"]))
    return commands


def containers_of(doc):
    if not doc:
        return []
    spec = doc.get("spec", {})
    template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template", {})
    return template.get("spec", {}).get("containers", [])


def check_commands(herald, repo):
    top = subprocess.run([herald, "--help"], capture_output=True, text=True)
    for where, argv in herald_commands(repo):
        command = argv[0]
        if not re.search(rf"^\s+{re.escape(command)}\b", top.stdout, re.M):
            fail(f"{where}: `herald {command}` is not a command of the binary")
            continue
        help_text = subprocess.run([herald, command, "--help"], capture_output=True, text=True)
        if help_text.returncode != 0:
            fail(f"{where}: `herald {command} --help` failed: {help_text.stderr}")
            continue
        for flag in (a for a in argv[1:] if a.startswith("--")):
            if not re.search(rf"{re.escape(flag)}\b", help_text.stdout):
                fail(f"{where}: `herald {command}` has no flag {flag}")
        lanes = argv[argv.index("--lanes") + 1] if "--lanes" in argv else None
        if lanes is not None:
            for lane in lanes.split(","):
                if lane not in ("email", "sms", "whatsapp", "telegram", "paced"):
                    fail(f"{where}: unknown lane {lane}")


def check_settings(herald, repo):
    known = set(re.findall(r"\((HERALD_[A-Z0-9_]+)\)", subprocess.run([herald, "config"], capture_output=True,
                                                                       text=True).stdout))
    if not known:
        fail("`herald config` listed no settings")
        return
    used = {}
    compose = yaml.safe_load((repo / "deploy/compose.yaml").read_text())
    for key in compose.get("x-herald-environment", {}):
        used[key] = "deploy/compose.yaml"
    for path in sorted((repo / "deploy/k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") in ("ConfigMap", "Secret"):
                for key in list(doc.get("data", {})) + list(doc.get("stringData", {})):
                    used[key] = str(path.relative_to(repo))
    for key, where in sorted(used.items()):
        if key not in known:
            fail(f"{where}: {key} is not a setting (herald config lists {len(known)})")


def check_manifests(repo):
    kinds = []
    for path in sorted((repo / "deploy").rglob("*.yaml")):
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        except yaml.YAMLError as error:
            fail(f"{path.relative_to(repo)}: does not parse: {error}")
            continue
        if path.parent.name != "k8s":
            continue
        for doc in docs:
            for field in ("apiVersion", "kind"):
                if field not in doc:
                    fail(f"{path.relative_to(repo)}: a document without {field}")
            kinds.append(doc.get("kind"))
            if doc.get("kind") == "Secret":
                for key, value in doc.get("stringData", {}).items():
                    if value:
                        fail(f"{path.relative_to(repo)}: Secret {key} has a value committed")
            for container in containers_of(doc):
                for probe in ("livenessProbe", "readinessProbe"):
                    if doc.get("kind") == "Deployment" and probe not in container:
                        fail(f"{path.relative_to(repo)}: container {container['name']} has no {probe}")
    for kind, least in (("Deployment", 2), ("Service", 1), ("ConfigMap", 1), ("Secret", 1), ("Job", 1)):
        if kinds.count(kind) < least:
            fail(f"deploy/k8s: expected at least {least} {kind}, found {kinds.count(kind)}")


def check_probe_paths(repo):
    routes = set(json.loads((repo / "src/api/openapi.json").read_text())["paths"])
    paths = []
    compose = yaml.safe_load((repo / "deploy/compose.yaml").read_text())
    for name, service in compose["services"].items():
        test = " ".join(service.get("healthcheck", {}).get("test", []))
        paths += [(f"deploy/compose.yaml service {name}", p) for p in re.findall(r"http://[^/\s]+(/\S*)", test)]
    for path in sorted((repo / "deploy/k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for container in containers_of(doc):
                for probe in ("livenessProbe", "readinessProbe"):
                    if "httpGet" in container.get(probe, {}):
                        paths.append((f"{path.relative_to(repo)} {probe}", container[probe]["httpGet"]["path"]))
    if not paths:
        fail("no probe paths found")
    for where, path in paths:
        if path not in routes:
            fail(f"{where}: probes {path}, which is not a route of the API")


def check_dockerfile(repo):
    text = (repo / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    if len(stages) < 2:
        fail(f"Dockerfile: expected a build stage and a runtime stage, found {stages}")
    elif stages[-1] != "debian:12-slim":
        fail(f"Dockerfile: the runtime stage is {stages[-1]}, not debian:12-slim")
    last = text[text.rfind("FROM "):]
    user = re.findall(r"^USER (\S+)", last, re.M)
    if not user or user[-1] in ("root", "0"):
        fail("Dockerfile: the runtime stage does not switch to an unprivileged user")
    if "build-essential" in last or "-dev " in last:
        fail("Dockerfile: the runtime stage installs build packages")


def main():
    herald, repo = sys.argv[1], pathlib.Path(sys.argv[2])
    check_manifests(repo)
    check_commands(herald, repo)
    check_settings(herald, repo)
    check_probe_paths(repo)
    check_dockerfile(repo)
    for message in failures:
        print(message)
    print(f"{len(failures)} problem(s)" if failures else "deployment files: ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
