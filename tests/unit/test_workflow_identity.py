"""The flow server's identity without a network: its client-credentials token (discovered token
endpoint, held until shortly before expiry), and its calls to aftercare (the address of its own
settings, never a run's; the run's tenant in the body)."""

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest

from services.security.client_credentials import ClientCredentials, TokenUnavailable
from workflows import follow_up
from workflows.settings import WorkflowSettings

from .oidc_tokens import ISSUER, Issuer


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


class IdentityProvider:
    """Keycloak's discovery and token endpoint, as an httpx MockTransport."""

    def __init__(self, secret: str = "s3cret", lifetime: int = 300):
        self.issuer, self.secret, self.lifetime = Issuer(), secret, lifetime
        self.seen: list[httpx.Request] = []
        self.down = False
        self.issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json=self.issuer.discovery())
        if str(request.url) == self.issuer.discovery()["token_endpoint"] and request.method == "POST":
            user, _, secret = base64.b64decode(request.headers["authorization"].split()[1]).decode().partition(":")
            form = parse_qs(request.content.decode())
            if (user, secret) != ("continuum-workflow", self.secret) or form["grant_type"] != ["client_credentials"]:
                return httpx.Response(401, json={"error": "invalid_client"})
            self.issued += 1
            return httpx.Response(200, json={"access_token": f"token-{self.issued}", "expires_in": self.lifetime,
                                             "token_type": "Bearer"})
        return httpx.Response(404)

    def client(self, secret="s3cret", clock=None) -> ClientCredentials:
        return ClientCredentials(ISSUER, "continuum-workflow", secret, transport=httpx.MockTransport(self),
                                 clock=clock or Clock())


def test_the_token_is_fetched_once_and_held_until_a_minute_before_it_expires():
    idp, clock = IdentityProvider(), Clock()
    client = idp.client(clock=clock)
    assert [client.token() for _ in range(5)] == ["token-1"] * 5
    assert [r.url.path for r in idp.seen] == ["/realms/continuum/.well-known/openid-configuration",
                                              "/realms/continuum/protocol/openid-connect/token"]
    clock.now += 239
    assert client.token() == "token-1"
    clock.now += 1
    assert client.token() == "token-2" and client.requests == 2
    client.forget()
    assert client.token() == "token-3"


def test_a_short_lived_token_is_renewed_at_half_its_life():
    idp, clock = IdentityProvider(lifetime=60), Clock()
    client = idp.client(clock=clock)
    client.token()
    clock.now += 30
    assert client.token() == "token-2"


def test_refused_credentials_or_an_unreachable_provider_are_clear_errors():
    idp = IdentityProvider()
    with pytest.raises(TokenUnavailable, match=r"refused client continuum-workflow's credentials \(HTTP 401, "
                                               "invalid_client"):
        idp.client(secret="wrong").token()
    idp.down = True
    with pytest.raises(TokenUnavailable, match="discovery document cannot be fetched"):
        idp.client().token()


def test_a_secret_from_a_file_is_read_when_needed(tmp_path):
    (tmp_path / "secret").write_text("s3cret\n")
    settings = WorkflowSettings(client_secret_file=tmp_path / "secret", aftercare_url="http://127.0.0.1:8104")
    assert settings.refusals() == [] and settings.secret() == "s3cret"
    assert IdentityProvider().client(secret=settings.secret).token() == "token-1"
    missing = WorkflowSettings(client_secret_file=tmp_path / "absent")
    assert [r.split(":")[0] for r in missing.refusals()] == ["no aftercare address",
                                                            "CONTINUUM_WORKFLOW_CLIENT_SECRET_FILE cannot be read"]


def test_the_aftercare_address_is_https_unless_on_loopback():
    assert WorkflowSettings(aftercare_url="http://127.0.0.1:8104/").aftercare_url == "http://127.0.0.1:8104"
    assert WorkflowSettings(aftercare_url="https://aftercare.example").aftercare_url
    with pytest.raises(ValueError, match="http only on loopback"):
        WorkflowSettings(aftercare_url="http://aftercare.example")


class Aftercare:
    def __init__(self, refuse_first: bool = False):
        self.calls: list[tuple[str, dict, str]] = []
        self.refuse_first = refuse_first

    def post(self, url, json, timeout, headers):
        self.calls.append((url, json, headers["Authorization"]))
        if self.refuse_first and len(self.calls) == 1:
            return httpx.Response(401, request=httpx.Request("POST", url))
        return httpx.Response(200, json={"status": "open"}, request=httpx.Request("POST", url))


@pytest.fixture
def flow_server(monkeypatch):
    idp = IdentityProvider()
    settings = WorkflowSettings(client_secret="s3cret", aftercare_url="http://127.0.0.1:8104")
    monkeypatch.setattr(follow_up, "_identity", (settings, idp.client()))
    aftercare = Aftercare()
    monkeypatch.setattr(follow_up.httpx, "post", aftercare.post)
    return aftercare


def test_a_run_calls_the_flow_servers_aftercare_with_its_token_and_the_runs_tenant(flow_server):
    as_of = datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert follow_up.call_aftercare("fu-1", follow_up.STEP_GRACE_CHECK, as_of, "demo-network") == {"status": "open"}
    url, body, authorization = flow_server.calls[0]
    assert url == "http://127.0.0.1:8104/follow-ups/fu-1/grace-check"
    assert body == {"as_of": as_of.isoformat(), "tenant_id": "demo-network"}
    assert authorization == "Bearer token-1"


def test_a_refused_token_is_replaced_once(flow_server):
    flow_server.refuse_first = True
    follow_up.call_aftercare("fu-1", follow_up.STEP_OPEN, datetime.now(UTC), "t")
    assert [auth for _, _, auth in flow_server.calls] == ["Bearer token-1", "Bearer token-2"]


def test_an_old_runs_aftercare_url_is_ignored_and_logged(flow_server, caplog, monkeypatch):
    import logging

    monkeypatch.setattr(follow_up, "get_run_logger", lambda: logging.getLogger("flow-run"))  # no run context here
    status = follow_up.follow_up_check_in.fn(follow_up_id="fu-2", participant_id="p-1", step="open",
                                             tenant_id="demo-network", aftercare_url="http://attacker.example")
    assert status == "open"
    assert [c[0] for c in flow_server.calls] == ["http://127.0.0.1:8104/follow-ups/fu-2/open"]
    assert "ignoring the run's aftercare_url parameter ('http://attacker.example')" in caplog.text
    assert json.dumps(flow_server.calls[0][1]).count("attacker") == 0


def test_runs_are_scheduled_without_an_address():
    import inspect

    from services.aftercare.follow_up_scheduler import PrefectFollowUpScheduler

    assert "aftercare_url" not in inspect.signature(PrefectFollowUpScheduler).parameters
    assert inspect.signature(follow_up.follow_up_check_in.fn).parameters["aftercare_url"].default is None


def test_the_prefect_api_auth_string_is_generated_once_per_data_dir_for_its_owner_only(tmp_path):
    from deploy.prefect_runner import PrefectServer, ensure_auth_string

    first = ensure_auth_string(tmp_path)
    user, _, password = first.partition(":")
    assert user == "continuum" and len(password) >= 40
    assert ensure_auth_string(tmp_path) == first and (tmp_path / "api-auth-string").stat().st_mode & 0o077 == 0
    server = PrefectServer(tmp_path)
    assert server.client_env()["PREFECT_API_AUTH_STRING"] == server.server_env()["PREFECT_SERVER_API_AUTH_STRING"]
    assert server.server_env()["PREFECT_SERVER_API_AUTH_STRING"] == first
    assert ensure_auth_string(tmp_path / "other") != first
