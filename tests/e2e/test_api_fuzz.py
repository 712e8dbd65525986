"""Every service's OpenAPI document, fuzzed by schemathesis against the running stack (real
Kafka, real databases): no request — valid or not — gets a 5xx, and every answer keeps to the
document (a declared status, a declared content type, a body that matches its schema).

Seeded and deterministic, with a bounded number of examples per operation, so a failure
reproduces and the run takes a few minutes. schemathesis runs as its CLI (`schemathesis run`,
the same command a developer types): its pytest integration does not work with pytest 9.
Headers come from one place, tests/support/api_auth.py."""

import json
import subprocess
import sys

import httpx
import pytest

from services.scheduling.calendar_config import seed_document
from tests.support.api_auth import auth_headers

from .fuzz_targets import known_ids

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "planning", "scheduling", "aftercare", "operations")
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
SEED = 20261128
MAX_EXAMPLES = 10  # per operation, in each of the fuzzing's modes (valid and invalid input)
KNOWN_ID_SHARE = 0.8  # of the path parameters, the rest generated (unknown: 404)


def config_file(ids: dict[str, list], path) -> str:
    """A schemathesis.toml in which each path parameter takes one of the known ids most of
    the time (a dictionary per parameter), so requests reach real plans, sessions, follow-ups."""
    lines = []
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = {KNOWN_ID_SHARE} }}' for name in ids]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def schemathesis_run(base_url: str, headers: dict[str, str], ids: dict[str, list],
                     work_dir) -> subprocess.CompletedProcess:
    """`schemathesis run` on a service's document: its examples, boundary values of every
    field (coverage) and random valid and invalid input (fuzzing)."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", config_file(ids, work_dir / "schemathesis.toml"),
        "run", f"{base_url}/openapi.json", "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--generation-deterministic",
        "--workers", "1", "--request-timeout", "30",
        "--max-failures", "50", "--continue-on-failure", "--no-color",
        "--report", "junit", "--report-dir", str(work_dir),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    # run in the test's own directory: schemathesis keeps a cache of past failures in .schemathesis/
    # of its working directory, and replays them first; each run starts without one
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=work_dir)


@pytest.fixture(scope="module")
def fuzz_ids(stack) -> dict[str, dict[str, list]]:
    return known_ids(stack)


@pytest.fixture(scope="module")
def program_calendar(stack):
    """The fuzzer may PUT a valid but odd program calendar: put the program's back afterwards,
    so the tests after this one place sessions on the calendar they expect."""
    url = f"{stack.url('scheduling')}/calendar"
    with httpx.Client(timeout=30, headers=auth_headers(stack, "scheduling")) as http:
        before = http.get(url).json()["document"] or seed_document()
        yield
        http.put(url, json=before).raise_for_status()


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_keeps_to_the_openapi_document(service, stack, fuzz_ids, program_calendar, tmp_path):
    # the mail server need not be up: opening a check-in only asks for its reminder (the
    # dispatcher sends it), so no answer depends on SMTP
    run = schemathesis_run(stack.url(service), auth_headers(stack, service), fuzz_ids[service], tmp_path)
    assert run.returncode == 0, \
        f"schemathesis found failures in {service}:\n{run.stdout[-20000:]}\n{run.stderr[-2000:]}"
    assert "passed" in run.stdout and "Operations:" in run.stdout, run.stdout  # it did test something
