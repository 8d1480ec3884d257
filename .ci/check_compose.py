#!/usr/bin/env python3
"""Checks docker-compose.yml and the Dockerfile without a Docker engine.

- the compose file parses and uses only known top-level, service and
  health-check keys (a typo such as `depend_on` is an error);
- every depends_on and network_mode target is a service of the file, with a
  condition compose knows; `service_healthy` targets have a health check and
  `service_completed_successfully` targets are not restarted;
- every `build:` points at an existing Dockerfile; every `image:` is built by
  a service or is a public image with a version tag (not `latest`);
- profiles are consistent: a service depends only on services that run
  whenever it runs;
- named volumes are declared and every declared one is used; env files exist
  (or their `.example`);
- the commands of services running our image, and their health checks, name
  real subcommands and options of our binaries (read from their `--help`),
  and those binaries are copied into the image;
- `.env.example` names every variable of the README's configuration table and
  every variable the compose file interpolates.

Usage: check_compose.py --cli target/debug/holded-hubspot --cli target/debug/holded-hubspot-sim
Prints every problem and exits 1 when there is one.
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets"}
SERVICE_KEYS = {
    "build", "cap_add", "cap_drop", "command", "configs", "container_name",
    "depends_on", "deploy", "entrypoint", "env_file", "environment", "expose",
    "extra_hosts", "healthcheck", "hostname", "image", "init", "labels",
    "logging", "network_mode", "networks", "platform", "ports", "profiles",
    "pull_policy", "read_only", "restart", "secrets", "security_opt",
    "shm_size", "stop_grace_period", "stop_signal", "tmpfs", "ulimits", "user",
    "volumes", "working_dir",
}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RESTARTS = {"no", "always", "on-failure", "unless-stopped"}
# name[:tag][@digest]; a pinned public image has a tag that starts with a
# version number, or a digest.
IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


class Problems:
    """Collects problems, each naming where it is."""

    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")


class Cli:
    """A binary's subcommands and options, as its --help lists them."""

    def __init__(self, path):
        self.path = path
        self.name = Path(path).name
        self._help = {}

    def help(self, *subcommand):
        if subcommand not in self._help:
            out = subprocess.run(
                [self.path, *subcommand, "--help"], capture_output=True, text=True, check=True
            ).stdout
            self._help[subcommand] = out
        return self._help[subcommand]

    def subcommands(self):
        names, inside = set(), False
        for line in self.help().splitlines():
            if line.strip() == "Commands:":
                inside = True
            elif inside and not line.strip():
                break
            elif inside and re.match(r"^  \S", line):
                names.add(line.split()[0])
        names.discard("help")
        return names

    def options(self, *subcommand):
        """Long option → whether it takes a value."""
        options = {}
        for line in self.help(*subcommand).splitlines():
            match = re.match(r"^\s+(?:-\w, )?(--[a-z0-9-]+)(?:[ =]<[^>]+>)?", line)
            if match:
                options[match.group(1)] = "<" in match.group(0)
        return options


def check_argv(argv, clis, where, problems):
    """Checks `argv` (binary, then arguments) against the binary's --help."""
    cli = clis.get(Path(argv[0]).name)
    if cli is None:
        problems.add(where, f"runs `{argv[0]}`, which is none of the checked binaries {sorted(clis)}")
        return
    scope = ()
    has_subcommands = bool(cli.subcommands())
    args = iter(argv[1:])
    for arg in args:
        if arg.startswith("--"):
            flag = arg.split("=", 1)[0]
            options = cli.options(*scope)
            if flag not in options:
                problems.add(where, f"`{' '.join((cli.name, *scope))}` has no option {flag}")
            elif options[flag] and "=" not in arg:
                next(args, None)
        elif has_subcommands and not scope:
            if arg not in cli.subcommands():
                problems.add(where, f"`{cli.name}` has no subcommand `{arg}` (it has {sorted(cli.subcommands())})")
                return
            scope = (arg,)
        else:
            problems.add(where, f"unexpected argument `{arg}` for `{' '.join((cli.name, *scope))}`")
    if has_subcommands and not scope:
        problems.add(where, f"`{cli.name}` is run without a subcommand")


def as_list(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value]


class Stage:
    """One build stage's entrypoint, command, health check and copied binaries."""

    def __init__(self, base=None):
        self.entrypoint = base.entrypoint if base else None
        self.command = base.command if base else None
        self.healthcheck = base.healthcheck if base else None
        self.binaries = set(base.binaries) if base else set()


class Dockerfile:
    """The entrypoint, command, health check and copied binaries of a stage
    (`target`, else the final one), following stages built on stages."""

    def __init__(self, path, target=None):
        self.path = f"{path}" + (f" (target {target})" if target else "")
        text = Path(path).read_text()
        text = re.sub(r"\\\n", " ", text)
        stages, stage = {}, None
        for line in text.splitlines():
            line = line.strip()
            if line.upper().startswith("FROM "):
                words = line.split()
                base = stages.get(words[1])
                stage = Stage(base)
                if len(words) >= 4 and words[2].upper() == "AS":
                    stages[words[3]] = stage
            elif stage is None:
                continue
            elif line.startswith("ENTRYPOINT "):
                stage.entrypoint = json.loads(line[len("ENTRYPOINT "):])
            elif line.startswith("CMD "):
                stage.command = json.loads(line[len("CMD "):])
            elif line.startswith("HEALTHCHECK "):
                match = re.search(r"\bCMD\s+(\[.*\])", line)
                stage.healthcheck = json.loads(match.group(1)) if match else None
            elif line.startswith("COPY ") and "/usr/local/bin" in line:
                destination = line.split()[-1]
                sources = [p for p in line.split()[1:-1] if not p.startswith("--")]
                if destination.endswith("/"):
                    stage.binaries |= {Path(p).name for p in sources}
                else:
                    stage.binaries.add(Path(destination).name)
        chosen = stages.get(target) if target else stage
        self.missing_target = target is not None and chosen is None
        chosen = chosen or Stage()
        self.entrypoint, self.command = chosen.entrypoint, chosen.command
        self.healthcheck, self.binaries = chosen.healthcheck, chosen.binaries


def depends_on(service):
    """depends_on as {name: settings}."""
    value = service.get("depends_on") or {}
    if isinstance(value, list):
        return {name: {} for name in value}
    return {name: (settings or {}) for name, settings in value.items()}


def healthcheck_enabled(service, ours, dockerfile):
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable", False) and check.get("test") not in (["NONE"], "NONE")
    return ours and dockerfile is not None and dockerfile.healthcheck is not None


def readme_variables(readme):
    """The variables of the README's configuration table."""
    names, inside = set(), False
    for line in Path(readme).read_text().splitlines():
        if line.startswith("## "):
            inside = line.strip() == "## Configuration"
        elif inside and line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def check(compose_path, clis, readme):
    problems = Problems()
    root = Path(compose_path).parent
    text = Path(compose_path).read_text()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        problems.add(compose_path, f"does not parse: {err}")
        return problems
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict) or not doc["services"]:
        problems.add(compose_path, "has no services")
        return problems
    for key in doc:
        if key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
            problems.add(compose_path, f"unknown top-level key `{key}`")
    services = doc["services"]

    dockerfiles, built_images = {}, {}
    for name, service in services.items():
        build = service.get("build")
        if build is None:
            continue
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        target = None if isinstance(build, str) else build.get("target")
        path = root / context / dockerfile
        if not path.is_file():
            problems.add(f"services.{name}.build", f"no Dockerfile at {path}")
            continue
        dockerfiles[name] = Dockerfile(path, target)
        if dockerfiles[name].missing_target:
            problems.add(f"services.{name}.build", f"{path} has no stage `{target}`")
        if service.get("image"):
            built_images[service["image"]] = name

    declared_volumes = set((doc.get("volumes") or {}).keys())
    used_volumes = set()
    for name, service in services.items():
        where = f"services.{name}"
        for key in service:
            if key not in SERVICE_KEYS and not key.startswith("x-"):
                problems.add(where, f"unknown key `{key}`")
        image = service.get("image")
        builder = name if name in dockerfiles else built_images.get(image)
        dockerfile = dockerfiles.get(builder)
        if image is None and "build" not in service:
            problems.add(where, "has neither image nor build")
        elif image is not None and builder is None:
            match = IMAGE.match(image)
            if not match:
                problems.add(where, f"image `{image}` is not a valid image reference")
            elif not match.group("digest") and not re.match(r"^\d", match.group("tag") or ""):
                problems.add(where, f"image `{image}` is neither built by a service nor a public image with a version tag")

        restart = service.get("restart")
        if restart is not None and restart not in RESTARTS and not str(restart).startswith("on-failure:"):
            problems.add(where, f"restart `{restart}` is not one of {sorted(RESTARTS)}")

        profiles = set(service.get("profiles") or [])
        targets = dict(depends_on(service))
        network_mode = service.get("network_mode", "")
        if network_mode.startswith("service:"):
            targets.setdefault(network_mode[len("service:"):], {})
        for target, settings in targets.items():
            if target not in services:
                problems.add(where, f"depends on `{target}`, which is not a service")
                continue
            condition = settings.get("condition", "service_started")
            if condition not in CONDITIONS:
                problems.add(where, f"depends on `{target}` with unknown condition `{condition}`")
            target_service = services[target]
            target_ours = target in dockerfiles or target_service.get("image") in built_images
            target_dockerfile = dockerfiles.get(target) or dockerfiles.get(built_images.get(target_service.get("image")))
            if condition == "service_healthy" and not healthcheck_enabled(target_service, target_ours, target_dockerfile):
                problems.add(where, f"waits for `{target}` to be healthy, but it has no health check")
            if condition == "service_completed_successfully" and target_service.get("restart", "no") not in ("no", "on-failure"):
                problems.add(where, f"waits for `{target}` to complete, but `{target}` restarts (restart: {target_service['restart']})")
            target_profiles = set(target_service.get("profiles") or [])
            if target_profiles and not (profiles and profiles <= target_profiles):
                when = f"in profiles {sorted(profiles)}" if profiles else "always"
                problems.add(where, f"runs {when} but depends on `{target}`, which runs only in profiles {sorted(target_profiles)}")

        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source and not source.startswith((".", "/", "~", "$")):
                used_volumes.add(source)
                if source not in declared_volumes:
                    problems.add(where, f"uses volume `{source}`, which is not declared under volumes")

        env_files = service.get("env_file") or []
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            path = root / (env_file if isinstance(env_file, str) else env_file["path"])
            if not path.is_file() and not path.with_name(path.name + ".example").is_file():
                problems.add(where, f"env_file {path.name} has neither the file nor {path.name}.example")

        healthcheck = service.get("healthcheck")
        if healthcheck is not None:
            for key in healthcheck:
                if key not in HEALTHCHECK_KEYS:
                    problems.add(f"{where}.healthcheck", f"unknown key `{key}`")

        if dockerfile is None:
            continue
        entrypoint = as_list(service.get("entrypoint")) or dockerfile.entrypoint or []
        command = as_list(service.get("command"))
        argv = entrypoint + (command if command is not None else dockerfile.command or [])
        if not argv:
            problems.add(where, "runs our image with no command")
            continue
        if Path(argv[0]).name not in dockerfile.binaries:
            problems.add(where, f"runs `{argv[0]}`, which {dockerfile.path} does not copy into the image")
        check_argv(argv, clis, f"{where}.command", problems)
        test = healthcheck.get("test") if healthcheck else None
        if test and test[0] == "CMD":
            check_argv(test[1:], clis, f"{where}.healthcheck", problems)

    for dockerfile in dockerfiles.values():
        if dockerfile.healthcheck:
            check_argv(dockerfile.healthcheck, clis, f"{dockerfile.path} HEALTHCHECK", problems)
    for volume in sorted(declared_volumes - used_volumes):
        problems.add("volumes", f"`{volume}` is declared but no service uses it")

    example = root / ".env.example"
    if not example.is_file():
        problems.add(str(example), "is missing")
    else:
        named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example.read_text(), re.MULTILINE))
        for variable in sorted(readme_variables(readme) - named):
            problems.add(str(example), f"does not name {variable} (README configuration table)")
        for variable in sorted(set(INTERPOLATION.findall(text)) - named):
            problems.add(str(example), f"does not name {variable} (used by {compose_path})")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compose", default="docker-compose.yml")
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--cli", action="append", required=True, help="a binary the image runs")
    args = parser.parse_args()
    clis = {cli.name: cli for cli in map(Cli, args.cli)}
    problems = check(args.compose, clis, args.readme)
    for item in problems.items:
        print(f"✘ {item}")
    if problems.items:
        print(f"{len(problems.items)} problem(s) in {args.compose}")
        return 1
    print(f"✔ {args.compose}: {len(yaml.safe_load(Path(args.compose).read_text())['services'])} services check out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
