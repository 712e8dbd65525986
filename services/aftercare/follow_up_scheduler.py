"""The follow-up scheduling port and its Prefect adapter: each check-in is a flow run of
the ``workflows`` deployment, scheduled for its due time on the Prefect server with an
idempotency key, so a retry schedules nothing twice. A second run per check-in, at the end
of its grace window, looks for the answer (step ``grace_check``).

Called by the dispatcher only (never inside a database transaction), through one long-lived
Prefect client (authenticated to the Prefect server by ``PREFECT_API_AUTH_STRING``), every call
with a deadline. A run names the follow-up and its tenant, never where to call: the flow server
calls the aftercare of its own settings."""

import asyncio
from datetime import datetime
from typing import Protocol

import httpx
from prefect.client.orchestration import PrefectClient, get_client
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.states import Cancelling, Scheduled

from services.eventing.consumer import TransientError
from workflows.follow_up import DEPLOYMENT_PATH, STEP_GRACE_CHECK, STEP_OPEN

FINAL_STATE_TYPES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED", "CANCELLING"}


class FollowUpScheduler(Protocol):
    async def schedule(self, *, follow_up_id: str, participant_id: str, due_at: datetime,
                       step: str = STEP_OPEN, tenant_id: str | None = None,
                       program_id: str | None = None) -> str: ...

    async def cancel(self, flow_run_id: str) -> None: ...

    async def close(self) -> None: ...


def idempotency_key(prefix: str, follow_up_id: str, step: str) -> str:
    # the open step keeps the key the walking skeleton used, so runs made before stay unique
    return f"{prefix}{follow_up_id}" if step == STEP_OPEN else f"{prefix}{follow_up_id}:{step}"


class PrefectFollowUpScheduler:
    def __init__(self, idempotency_prefix: str = "", deadline_s: float = 60.0):
        self.idempotency_prefix = idempotency_prefix
        self.deadline_s = deadline_s
        self._deployment_id = None
        self._client: PrefectClient | None = None

    async def _connected(self):
        """One client for the process's life: its connection pool and TLS context are made once."""
        if self._client is None:
            client = get_client()
            await client.__aenter__()
            self._client = client
        return self._client

    async def close(self) -> None:
        """Closes the client; the next call opens a new one. Also after any failed call: a request
        cut short by its deadline can leave the client's connection pool stuck (seen under load:
        every later call timed out), so a failure never reuses the client."""
        if self._client is not None:
            client, self._client = self._client, None
            try:
                async with asyncio.timeout(5):
                    await client.__aexit__(None, None, None)
            except Exception:  # noqa: BLE001 - it is dropped either way
                pass

    async def _deployment(self, client):
        if self._deployment_id is None:
            try:
                self._deployment_id = (await client.read_deployment_by_name(DEPLOYMENT_PATH)).id
            except ObjectNotFound:
                raise TransientError(f"Prefect deployment {DEPLOYMENT_PATH} not served yet") from None
        return self._deployment_id

    async def schedule(self, *, follow_up_id: str, participant_id: str, due_at: datetime,
                       step: str = STEP_OPEN, tenant_id: str | None = None, program_id: str | None = None) -> str:
        assert step in (STEP_OPEN, STEP_GRACE_CHECK), step
        try:
            async with asyncio.timeout(self.deadline_s):
                client = await self._connected()
                run = await client.create_flow_run_from_deployment(
                    await self._deployment(client),
                    parameters={"follow_up_id": follow_up_id, "participant_id": participant_id, "step": step,
                                "due_at": due_at.isoformat(), "tenant_id": tenant_id, "program_id": program_id},
                    state=Scheduled(scheduled_time=due_at),
                    idempotency_key=idempotency_key(self.idempotency_prefix, follow_up_id, step),
                    tags=["continuum", "follow-up", step],
                )
        except (httpx.HTTPError, PrefectHTTPStatusError, OSError, TimeoutError) as exc:
            await self.close()
            raise TransientError(f"Prefect unavailable: {type(exc).__name__}") from exc
        return str(run.id)

    async def cancel(self, flow_run_id: str) -> None:
        """Cancelling (not Cancelled): a Scheduled run goes straight to Cancelled, a Pending or
        Running one is stopped by its runner. A run already over is left as it is."""
        try:
            async with asyncio.timeout(self.deadline_s):
                client = await self._connected()
                run = await client.read_flow_run(flow_run_id)
                if run.state is None or run.state.type.value not in FINAL_STATE_TYPES:
                    await client.set_flow_run_state(flow_run_id, Cancelling())
        except ObjectNotFound:
            return
        except (httpx.HTTPError, PrefectHTTPStatusError, OSError, TimeoutError) as exc:
            await self.close()
            raise TransientError(f"Prefect unavailable: {type(exc).__name__}") from exc
