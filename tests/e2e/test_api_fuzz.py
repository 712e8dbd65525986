"""Every service's OpenAPI document, fuzzed by schemathesis against the running stack (real
Kafka, real databases): no request — valid or not — gets a 5xx, and every answer keeps to the
document (a declared status, a declared content type, a body that matches its schema).

Seeded and deterministic, with a bounded number of examples per operation, so a failure
reproduces and the run takes a few minutes. schemathesis runs as its CLI (`schemathesis run`,
the same command a developer types): its pytest integration does not work with pytest 9.
Headers come from one place, tests/support/api_auth.py."""

import subprocess
import sys

import httpx
import pytest

from services.scheduling.calendar_config import seed_document
from tests.support.api_auth import auth_headers

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "planning", "scheduling", "aftercare", "operations")
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
SEED = 20261128
MAX_EXAMPLES = 25  # per operation and phase


def schemathesis_run(base_url: str, headers: dict[str, str], report_dir) -> subprocess.CompletedProcess:
    """`schemathesis run` on a service's document: examples, boundary values (coverage),
    random valid and invalid input (fuzzing), and call sequences (stateful, following the ids
    one answer gives to the next request)."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json",
        "--checks", CHECKS, "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--generation-deterministic",
        "--workers", "1", "--request-timeout", "30",
        "--max-failures", "50", "--continue-on-failure", "--no-color",
        "--report", "junit", "--report-dir", str(report_dir),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def program_calendar(stack):
    """The fuzzer may PUT a valid but odd program calendar: put the program's back afterwards,
    so the tests after this one place sessions on the calendar they expect."""
    url = f"{stack.url('scheduling')}/calendar"
    with httpx.Client(timeout=30, headers=auth_headers("scheduling")) as http:
        before = http.get(url).json()["document"] or seed_document()
        yield
        http.put(url, json=before).raise_for_status()


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_keeps_to_the_openapi_document(service, stack, program_calendar, tmp_path):
    run = schemathesis_run(stack.url(service), auth_headers(service), tmp_path)
    assert run.returncode == 0, f"schemathesis found failures in {service}:\n{run.stdout[-20000:]}\n{run.stderr[-2000:]}"
    assert "passed" in run.stdout and "Operations:" in run.stdout, run.stdout  # it did test something
