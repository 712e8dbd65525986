"""The dashboard page's sign-in in a real headless browser (Debian's Chromium, Playwright), against
a small stand-in identity provider on another origin: authorization code with PKCE S256, the
state checked, the code exchanged from the page (CORS), the token kept in memory only (nothing in
storage or the address bar afterwards), figures fetched with it and verified by the services'
own verifier. The same login form fields as Keycloak's (``#username``, ``#password``,
``#kc-login``). The whole stack with the real Keycloak: tests/e2e/test_operations_dashboard.py."""

import asyncio
import base64
import hashlib
import html
import secrets
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from deploy.processes import free_port, port_open, wait_until
from services.operations.api import STATIC
from services.operations.domain.figures import figures
from services.security.dependencies import Access, authorized
from services.security.oidc import IssuerKeys
from services.security.roles import Permission
from services.security.tokens import TokenVerifier
from tests.unit.oidc_tokens import AUDIENCE, Issuer

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PASSWORD = secrets.token_urlsafe(12)


def identity_provider(port: int, dashboard_origin: str) -> tuple[FastAPI, Issuer, dict]:
    issuer = Issuer(issuer=f"http://127.0.0.1:{port}/realms/continuum")
    seen: dict = {"codes": {}, "token_requests": []}
    app = FastAPI()
    base = "/realms/continuum/protocol/openid-connect"

    @app.get("/realms/continuum/.well-known/openid-configuration")
    async def discovery() -> JSONResponse:
        doc = issuer.discovery() | {"authorization_endpoint": f"{issuer.issuer}/protocol/openid-connect/auth",
                                    "end_session_endpoint": f"{issuer.issuer}/protocol/openid-connect/logout"}
        return JSONResponse(doc, headers={"Access-Control-Allow-Origin": "*"})

    @app.get(f"{base}/auth")
    async def login_form(request: Request) -> HTMLResponse:
        seen["authorize"] = dict(request.query_params)
        hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                         for k, v in request.query_params.items())
        return HTMLResponse(f'<form method="post" action="{base}/auth">{hidden}<input id="username" name="username">'
                            f'<input id="password" name="password" type="password">'
                            f'<button id="kc-login" type="submit">Sign In</button></form>')

    async def form_of(request: Request) -> dict[str, str]:  # urlencoded, without python-multipart
        return dict(parse_qsl((await request.body()).decode()))

    @app.post(f"{base}/auth")
    async def login(request: Request) -> RedirectResponse:
        f = await form_of(request)
        assert (f["username"], f["password"], f["code_challenge_method"]) == ("demo-operations", PASSWORD, "S256")
        code = secrets.token_urlsafe(16)
        seen["codes"][code] = (f["code_challenge"], f["redirect_uri"])
        return RedirectResponse(f"{f['redirect_uri']}?{urlencode({'code': code, 'state': f['state']})}",
                                status_code=302)

    @app.post(f"{base}/token")
    async def token(request: Request) -> JSONResponse:
        form = await form_of(request)
        seen["token_requests"].append(form)
        cors = {"Access-Control-Allow-Origin": dashboard_origin}
        challenge, redirect_uri = seen["codes"].pop(form.get("code"), (None, None))
        verifier = form.get("code_verifier", "").encode()
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if (form.get("grant_type") != "authorization_code" or challenge != expected
                or redirect_uri != form.get("redirect_uri") or form.get("client_id") != "continuum-dashboard"):
            return JSONResponse({"error": "invalid_grant"}, 400, headers=cors)
        access = issuer.token(sub="u-ops", preferred_username="demo-operations",
                              realm_access={"roles": ["default-roles-continuum", "operations"]})
        return JSONResponse({"access_token": access, "expires_in": 1800, "token_type": "Bearer",
                             "refresh_token": "opaque", "id_token": access}, headers=cors)

    return app, issuer, seen


def dashboard(issuer: Issuer) -> tuple[FastAPI, list]:
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(IssuerKeys.from_jwks(issuer.jwks()), issuer=issuer.issuer,
                                             audience=AUDIENCE)
    callers: list = []

    @app.get("/")
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/identity")
    async def identity() -> dict:
        return {"issuer": issuer.issuer, "client_id": "continuum-dashboard", "scope": "openid"}

    @app.get("/api/figures")
    async def get_figures(access: Access = authorized(Permission.DASHBOARD_READ)) -> dict:
        callers.append(access.actor)
        out = figures({}, datetime.now(UTC), access.tenant)
        return out | {"consumer_lag": {"available": False, "by_service": []}}

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app, callers


class Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # in a thread
        pass


@pytest.fixture
def servers():
    idp_port, ops_port = free_port(), free_port()
    idp_app, issuer, seen = identity_provider(idp_port, f"http://127.0.0.1:{ops_port}")
    ops_app, callers = dashboard(issuer)
    running = []
    for app, port in ((idp_app, idp_port), (ops_app, ops_port)):
        server = Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=lambda s=server: asyncio.run(s.serve()), daemon=True)
        thread.start()
        running.append((server, thread))
        wait_until(lambda p=port: port_open("127.0.0.1", p), 20, f"server on {port}")
    yield f"http://127.0.0.1:{ops_port}/", seen, callers
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make browser)")
def test_the_dashboard_signs_in_with_pkce_and_keeps_the_token_in_memory(servers):
    from playwright.sync_api import sync_playwright

    url, seen, callers = servers
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_selector("#kc-login", timeout=20000)  # redirected to the provider's login form
            assert seen["authorize"]["code_challenge_method"] == "S256"
            assert seen["authorize"]["redirect_uri"] == url and seen["authorize"]["client_id"] == "continuum-dashboard"
            page.fill("#username", "demo-operations")
            page.fill("#password", PASSWORD)
            page.click("#kc-login")
            page.wait_for_selector("body[data-loaded='true']", timeout=20000)

            assert page.url == url, "no code or state left in the address"
            assert page.inner_text("#user") == "demo-operations"
            assert callers[0].id == "u-ops" and callers[0].role == "operations"
            assert len(seen["token_requests"]) == 1 and seen["token_requests"][0]["code_verifier"]
            assert page.evaluate("sessionStorage.length + localStorage.length") == 0, "the token is in memory only"
            assert page.evaluate("document.cookie") == ""
            time.sleep(3.5)  # the page polls: again with the same token, no new sign-in
            assert len(callers) >= 2 and len(seen["token_requests"]) == 1
            assert errors == [], errors
        finally:
            browser.close()
