"""The dashboard in a real headless browser: Debian's Chromium driven by Playwright (the
system browser, never a downloaded one). The page sends its user to Keycloak's login form (code
flow with PKCE), the demo operations user signs in, and the page shows the demo cohort's figures,
filters, updates live, and a screenshot is taken."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from deploy import api_client as api
from deploy.demo_cohort import referral

from .operations_support import wait_caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


OPERATIONS_USER = "demo-operations"


def demo_password(stack, username: str) -> str:
    """The demo user's password, generated for this data directory (deploy/keycloak_runner.py)."""
    return next(u["password"] for u in stack.keycloak.demo_users() if u["username"] == username)


def sign_in(page, stack, username: str = OPERATIONS_USER) -> None:
    """Keycloak's login form, as a person fills it in."""
    page.wait_for_selector("#kc-login", timeout=30000)
    assert page.url.startswith(stack.keycloak.issuer), page.url
    page.fill("#username", username)
    page.fill("#password", demo_password(stack, username))
    page.click("#kc-login")


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1800})
        try:
            yield context.new_page()
        finally:
            context.close()


def test_the_dashboard_shows_the_demo_cohort(stack, demo_cohort, browser_page, tmp_path):
    ops = stack.url("operations")
    with stack.client("operations") as http:
        wait_caught_up(stack, http)
        figures = http.get(f"{ops}/api/figures").json()
        assert figures["tenant_id"] == "demo-network"
    page = browser_page
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("requestfailed", lambda r: console.append(f"failed: {r.method} {r.url} {r.failure}"))
    page.goto(stack.dashboard_url)
    sign_in(page, stack)
    try:
        page.wait_for_selector("body[data-loaded='true']", timeout=30000)
    except PlaywrightTimeout:
        raise AssertionError(f"not loaded: at {page.url}; errors {errors}; console {console}; "
                             f"page {page.inner_text('body')[:500]!r}") from None
    assert page.url == stack.dashboard_url, "back on the dashboard, no code left in the address"
    assert page.inner_text("#user") == OPERATIONS_USER
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0, "the token is in memory only"

    assert page.title() == "Continuum · Operations"
    assert page.inner_text("#kpi-census") == str(figures["census"]["total"])
    assert int(page.inner_text("#kpi-safety")) >= 1
    assert page.inner_text("#kpi-attendance").endswith("%")
    funnel = page.evaluate("Chart.getChart('chart-pipeline').data.datasets[0].data")
    assert funnel[0] >= 10 and len(funnel) == 7, "the pipeline chart shows the cohort"
    assert page.evaluate("Chart.getChart('chart-lag').data.labels") == [
        "intake", "planning", "scheduling", "aftercare", "operations"]
    assert page.locator("#transitions tbody tr").count() == 6
    assert page.locator("#safety tbody tr").count() >= 1
    assert "demo-network" in page.locator("#tenant option").all_inner_texts()

    # filters: a program nobody is in empties the figures; back to all restores them
    page.select_option("#tenant", "demo-network")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('live')")
    with page.expect_response(lambda r: "/api/figures" in r.url and "tenant=demo-network" in r.url):
        page.select_option("#program", "adult-mh")
    page.wait_for_function("Chart.getChart('chart-pipeline').data.datasets[0].data[0] >= 10")

    # live updates: a new referral shows up without reloading the page
    before = page.evaluate("Chart.getChart('chart-pipeline').data.datasets[0].data[0]")
    with stack.client() as http:
        api.refer(http, stack.urls(), referral(11))
    page.wait_for_function(f"Chart.getChart('chart-pipeline').data.datasets[0].data[0] > {before}", timeout=30000)

    shots = Path(os.environ.get("CONTINUUM_ARTIFACTS_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "operations-dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    assert errors == [], errors
