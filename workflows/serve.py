"""Serves the workflows' deployments: executes each scheduled flow run when it is due.
Needs PREFECT_API_URL and PREFECT_API_AUTH_STRING (set by deploy/), the flow server's identity
(``CONTINUUM_WORKFLOW_CLIENT_ID``, ``..._CLIENT_SECRET`` or ``..._CLIENT_SECRET_FILE``, of the
issuer ``CONTINUUM_AUTH_ISSUER``) and where its flows call (``CONTINUUM_WORKFLOW_AFTERCARE_URL``);
refuses to start without them (exit 2). Poll frequency: PREFECT_RUNNER_POLL_FREQUENCY."""

import sys

from pydantic import ValidationError

from services.security.settings import AuthSettings

from .follow_up import DEPLOYMENT_NAME, follow_up_check_in
from .settings import WorkflowSettings


def refusals() -> list[str]:
    try:
        out = WorkflowSettings().refusals()
        if not AuthSettings().issuer:
            out.append("no issuer: set CONTINUUM_AUTH_ISSUER (the flow server gets its token there)")
    except ValidationError as exc:
        out = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return out


if __name__ == "__main__":
    if refused := refusals():
        print(f"refusing to start: {'; '.join(refused)}", file=sys.stderr)
        raise SystemExit(2)
    follow_up_check_in.serve(name=DEPLOYMENT_NAME, pause_on_shutdown=False, print_starting_message=False,
                             tags=["continuum"])
