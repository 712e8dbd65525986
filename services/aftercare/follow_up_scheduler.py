"""The follow-up scheduling port and its Prefect adapter: each check-in is a flow run of
the ``workflows`` deployment, scheduled for its due time on the Prefect server with an
idempotency key, so a redelivered event schedules nothing twice."""

from datetime import datetime
from typing import Protocol

import httpx
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.states import Cancelling, Scheduled

from services.eventing.consumer import TransientError
from workflows.follow_up import DEPLOYMENT_PATH


class FollowUpScheduler(Protocol):
    async def schedule(self, *, follow_up_id: str, participant_id: str, due_at: datetime) -> str: ...

    async def cancel(self, flow_run_id: str) -> None: ...


class PrefectFollowUpScheduler:
    def __init__(self, aftercare_url: str, idempotency_prefix: str = ""):
        self.aftercare_url = aftercare_url
        self.idempotency_prefix = idempotency_prefix
        self._deployment_id = None

    async def _deployment(self, client):
        if self._deployment_id is None:
            try:
                self._deployment_id = (await client.read_deployment_by_name(DEPLOYMENT_PATH)).id
            except ObjectNotFound:
                raise TransientError(f"Prefect deployment {DEPLOYMENT_PATH} not served yet") from None
        return self._deployment_id

    async def schedule(self, *, follow_up_id: str, participant_id: str, due_at: datetime) -> str:
        try:
            async with get_client() as client:
                run = await client.create_flow_run_from_deployment(
                    await self._deployment(client),
                    parameters={"follow_up_id": follow_up_id, "participant_id": participant_id,
                                "aftercare_url": self.aftercare_url},
                    state=Scheduled(scheduled_time=due_at),
                    idempotency_key=f"{self.idempotency_prefix}{follow_up_id}",
                    tags=["continuum", "follow-up"],
                )
        except (httpx.HTTPError, PrefectHTTPStatusError, OSError) as exc:
            raise TransientError(f"Prefect unavailable: {type(exc).__name__}") from exc
        return str(run.id)

    async def cancel(self, flow_run_id: str) -> None:
        try:
            async with get_client() as client:
                await client.set_flow_run_state(flow_run_id, Cancelling())
        except (httpx.HTTPError, PrefectHTTPStatusError, OSError) as exc:
            raise TransientError(f"Prefect unavailable: {type(exc).__name__}") from exc
