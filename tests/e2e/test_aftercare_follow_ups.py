"""Aftercare end to end, on the whole stack (a follow-up 'day' is 2 s, the grace window
15 days = 30 s, reminders by email to a real local SMTP server): the aftercare plan and its
relapse-prevention plan, check-ins as flow runs on the real Prefect server, a due run that
reminds and opens, a missed check-in that escalates, the way back up, a readmission that
cancels the pending runs, the measures, a Prefect restart and a failing run retried."""

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from deploy import api_client as api
from deploy.demo_cohort import assessment
from deploy.prefect_runner import start_flow_server
from services.aftercare.domain.measures import day_number
from services.contracts.topics import events_topic
from tests.e2e.test_care_path import admit, attend_until_step_down, flow_runs
from tests.support.waiting import poll

pytestmark = pytest.mark.e2e
TENANT = "demo-network"  # the referrals' tenant (deploy.demo_cohort.referral): what a flow run claims

DAY_S, GRACE_S = 2, 30
STABLE = {"phq9_total": 3, "phq9_item9": 0, "substance_use_since_last_contact": False,
          "engaged_with_step_down_provider": True, "housing_stable": True, "work_or_school_stable": True}
PLAN = {"triggers": ["payday weekends"], "warning_signs": ["skipping the group"],
        "coping_strategies": ["call my sponsor before going out"],
        "supports": [{"name": "Robin Quillfeather", "relationship": "sponsor", "phone": "555-0142"}],
        "crisis_resources": ["988 Suicide & Crisis Lifeline"]}


def aftercare_reader(stack, readers):
    prefix = stack.config.topic_prefix
    return readers(events_topic("aftercare", prefix), events_topic("intake", prefix))


def runs_by_step(stack, follow_ups: list[dict]) -> dict[tuple[int, str], dict]:
    ids = [f["flow_run_id"] for f in follow_ups] + [f["grace_check_flow_run_id"] for f in follow_ups]
    return {(r["parameters"]["follow_up_id"], r["parameters"]["step"]): r for r in flow_runs(stack, ids)}


def follow_up(http, stack, pid: str, day: int) -> dict:
    return next(f for f in api.aftercare(http, stack.urls(), pid)["follow_ups"] if f["day_offset"] == day)


def wait_run(stack, run_id: str, state_type: str, timeout_s: float) -> dict:
    return poll(lambda: next((r for r in flow_runs(stack, [run_id]) if r["state_type"] == state_type), None),
                timeout_s, f"flow run {run_id} {state_type}")


def measures(http, stack, as_of: datetime) -> dict:
    r = http.get(f"{stack.url('aftercare')}/measures/follow-up", params={"as_of": as_of.isoformat()})
    r.raise_for_status()
    return r.json()


def test_plan_confirmed_check_ins_scheduled_a_due_run_emails_and_opens(stack, readers, smtp_server):
    reader = aftercare_reader(stack, readers)
    aftercare_url = stack.url("aftercare")
    email = "p11.reminders@example.org"
    with stack.client() as http:
        pid = admit(stack, http, 11)
        assert http.put(f"{aftercare_url}/participants/{pid}/reminder-contact",
                        json={"email": email}).status_code == 204
        aftercare = attend_until_step_down(stack, http, pid, 11)
        far = datetime.now(UTC) + timedelta(days=1)     # every window (16 s, 62 s) closed by then
        before = measures(http, stack, far)

        # the relapse-prevention plan is written and confirmed with the participant: the care team's
        # token records it as witnessed by its subject; a body naming who confirmed is refused
        confirm = {"confirmed_by_participant": True, "reviewed_with": "staff-cm-7"}
        r = http.post(f"{aftercare_url}/participants/{pid}/aftercare/confirmation", json=confirm)
        assert r.status_code == 422 and {e["loc"][-1] for e in r.json()["detail"]} == set(confirm)
        r = http.post(f"{aftercare_url}/participants/{pid}/aftercare/confirmation", json={})
        assert r.status_code == 409, "nothing to confirm before the plan is written"
        r = http.put(f"{aftercare_url}/participants/{pid}/aftercare/relapse-prevention-plan",
                     json={**PLAN, "triggers": []})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "triggers"]
        written = http.put(f"{aftercare_url}/participants/{pid}/aftercare/relapse-prevention-plan", json=PLAN)
        assert written.status_code == 200 and written.json()["confirmed_by_participant"] is False
        confirmed = http.post(f"{aftercare_url}/participants/{pid}/aftercare/confirmation", json={}).json()
        assert confirmed["confirmed_by_participant"] and confirmed["confirmation_kind"] == "witnessed"
        assert confirmed["attested_by"] == confirmed["confirmed_by"]["id"] != "staff-cm-7"
        assert api.aftercare(http, stack.urls(), pid)["relapse_prevention"]["supports"][0]["relationship"] == "sponsor"
        reader.wait_for(lambda rs: reader.events(pid, "aftercare_plan_confirmed.v1"), 30, "AftercarePlanConfirmed")
        plan_confirmed = reader.events(pid, "aftercare_plan_confirmed.v1")[0]["data"]
        assert plan_confirmed["relapse_prevention_plan_id"] == aftercare["relapse_prevention_plan_id"]
        assert (plan_confirmed["confirmation_kind"], plan_confirmed["attested_by"], plan_confirmed["actor"]) == (
            "witnessed", confirmed["attested_by"], confirmed["confirmed_by"])

        # four check-ins and four grace checks, as the Prefect API reports them
        fus = aftercare["follow_ups"]
        assert [f["day_offset"] for f in fus] == [7, 30, 90, 180]
        discharged_at = datetime.fromisoformat(aftercare["discharged_at"])
        runs = runs_by_step(stack, fus)
        assert len(runs) == 8
        for f in fus:
            due = datetime.fromisoformat(f["due_at"])
            assert abs((due - discharged_at).total_seconds() - f["day_offset"] * DAY_S) < 0.01
            opening, grace = runs[(f["follow_up_id"], "open")], runs[(f["follow_up_id"], "grace_check")]
            assert abs((datetime.fromisoformat(opening["expected_start_time"]) - due).total_seconds()) < 1
            assert abs((datetime.fromisoformat(grace["expected_start_time"]) - due).total_seconds() - GRACE_S) < 1
            assert opening["parameters"]["due_at"] == f["due_at"] and opening["parameters"]["participant_id"] == pid
        assert {r["state_type"] for (fid, _), r in runs.items() if fid != fus[0]["follow_up_id"]} <= \
            {"SCHEDULED", "PENDING"}

        # the day-7 run executes when due: an email to the address in aftercare's store, the check-in open
        d7 = fus[0]
        wait_run(stack, d7["flow_run_id"], "COMPLETED", 90)
        opened = poll(lambda: (f := follow_up(http, stack, pid, 7))["reminder"] == "sent" and f, 30,
                      "the dispatcher sends the reminder")
        assert opened["status"] == "open" and opened["reminder_channel"] == "email"
        mail = poll(lambda: [m for m in smtp_server.messages if m["To"] == email], 10, "the reminder email")
        assert len(mail) == 1 and d7["follow_up_id"] in mail[0].get_payload()
        line = next(json.loads(x) for x in (stack.data_dir / "notifications.jsonl").read_text().splitlines()
                    if d7["follow_up_id"] in x)
        assert line["channel"] == "email" and email not in json.dumps(line)

        # the answer: stable, no way back up; the measure counts it
        done = api.check_in(http, stack.urls(), d7["follow_up_id"], {**STABLE, "how_they_say_they_are": "steady"})
        assert done["result"] == "stable"
        reader.wait_for(lambda rs: reader.events(pid, "follow_up_completed.v1"), 30, "FollowUpCompleted")
        assert reader.events(pid, "follow_up_completed.v1")[0]["data"]["status"] == "stable"
        assert not reader.events(pid, "relapse_risk_detected.v1")
        after = measures(http, stack, far)
        day = day_number(discharged_at, datetime.fromisoformat(done["completed_at"]), timedelta(seconds=DAY_S))
        assert after["within_30_days"]["discharges"] == before["within_30_days"]["discharges"]
        assert after["within_30_days"]["with_follow_up"] == before["within_30_days"]["with_follow_up"] + 1
        assert after["within_7_days"]["with_follow_up"] == before["within_7_days"]["with_follow_up"] + (day <= 7)

        # nothing personal left aftercare: not in its events, not in its log
        for r in reader.records:
            if r.key == pid.encode() and r.topic.endswith("aftercare.events"):
                text = r.value.decode()
                assert email not in text and "sponsor" not in text and "Robin" not in text and "steady" not in text
        log = (stack.data_dir / "logs" / "aftercare.log").read_text()
        assert email not in log and "Robin" not in log


def test_an_unanswered_check_in_is_missed_and_repeated_misses_escalate(stack, readers):
    reader = aftercare_reader(stack, readers)
    aftercare_url = stack.url("aftercare")
    with stack.client() as http:
        pid = admit(stack, http, 12)
        fus = attend_until_step_down(stack, http, pid, 12)["follow_ups"]
        d7, d30 = fus[0], fus[1]

        # nobody answers day 7: the grace-check run finds it missed -> an outreach task
        wait_run(stack, d7["grace_check_flow_run_id"], "COMPLETED", 120)
        missed = follow_up(http, stack, pid, 7)
        assert missed["status"] == "missed" and missed["escalation_level"] == 1
        reader.wait_for(lambda rs: reader.events(pid, "follow_up_missed.v1"), 30, "FollowUpMissed")
        event = reader.events(pid, "follow_up_missed.v1")[0]["data"]
        assert (event["follow_up_id"], event["escalation_level"], event["escalated_to"]) == \
            (d7["follow_up_id"], 1, "care_coordinator")
        tasks = {t["follow_up_id"]: t for t in http.get(f"{aftercare_url}/outreach-tasks").json()}
        assert tasks[d7["follow_up_id"]]["outreach_task_id"] == event["outreach_task_id"]

        # the second miss in a row escalates further; the flow's call is idempotent (time as a parameter)
        as_of = datetime.fromisoformat(d30["due_at"]) + timedelta(seconds=GRACE_S)
        early = http.post(f"{aftercare_url}/follow-ups/{d30['follow_up_id']}/grace-check",
                          headers=stack.auth_headers("workflow"),
                          json={"tenant_id": TENANT, "as_of": (as_of - timedelta(seconds=1)).isoformat()}).json()
        assert early["grace_outcome"] == "not_yet" and early["status"] == "scheduled"
        for expected in ("missed", "already_missed"):
            r = http.post(f"{aftercare_url}/follow-ups/{d30['follow_up_id']}/grace-check",
                          headers=stack.auth_headers("workflow"),
                          json={"tenant_id": TENANT, "as_of": as_of.isoformat()}).json()
            assert r["grace_outcome"] == expected and r["escalation_level"] == 2
        reader.wait_for(lambda rs: len(reader.events(pid, "follow_up_missed.v1")) == 2, 30, "second miss")
        time.sleep(1)
        reader.poll()
        second = [e["data"] for e in reader.events(pid, "follow_up_missed.v1")]
        assert len(second) == 2 and second[1]["escalated_to"] == "clinical_supervisor"

        # a late answer still counts; the way back up re-refers through intake
        late = api.check_in(http, stack.urls(), d7["follow_up_id"], {**STABLE, "phq9_item9": 1, "phq9_total": 9})
        assert late["status"] == "completed" and late["result"] == "at_risk"
        reader.wait_for(lambda rs: len(reader.events(pid, "referral_received.v1")) == 2, 30, "a re-referral")
        assert reader.events(pid, "relapse_risk_detected.v1")[0]["data"]["risk"] == "safety"
        again = reader.events(pid, "referral_received.v1")[-1]["data"]
        assert again["source"] == "step_up_from_aftercare" and again["prior_episode_id"] == event["episode_id"]
        r = http.post(f"{aftercare_url}/follow-ups/{d7['follow_up_id']}/check-in", json=STABLE)
        assert r.status_code == 200 and r.json()["additional_answer"], "a second answer is kept, never refused"
        assert r.json()["status"] == "completed" and r.json()["safety_flag"] is None


def test_a_readmission_cancels_the_pending_runs(stack, readers):
    reader = aftercare_reader(stack, readers)
    with stack.client() as http:
        pid = admit(stack, http, 13)
        fus = attend_until_step_down(stack, http, pid, 13)["follow_ups"]
        relapse = api.check_in(http, stack.urls(), fus[0]["follow_up_id"],
                               {**STABLE, "substance_use_since_last_contact": True})
        assert relapse["result"] == "relapse"
        reader.wait_for(lambda rs: len(reader.events(pid, "referral_received.v1")) == 2, 30, "a re-referral")
        assert api.aftercare(http, stack.urls(), pid)["follow_ups"][1]["status"] == "scheduled", \
            "by default the remaining check-ins are kept until a readmission"

        # intake re-assesses and admits again: a new episode, so aftercare stops the old one's check-ins
        assert api.assess(http, stack.urls(), pid, assessment(13))["admitted_to_iop"]
        reader.wait_for(lambda rs: len(reader.events(pid, "follow_up_cancelled.v1")) == 3, 60, "3 cancellations")
        cancelled = reader.events(pid, "follow_up_cancelled.v1")
        assert {e["data"]["follow_up_id"] for e in cancelled} == {f["follow_up_id"] for f in fus[1:]}
        assert {e["data"]["reason_code"] for e in cancelled} == {"readmitted"}
        now = {f["day_offset"]: f["status"] for f in api.aftercare(http, stack.urls(), pid)["follow_ups"]}
        assert now == {7: "completed", 30: "cancelled", 90: "cancelled", 180: "cancelled"}
        ids = [x for f in fus[1:] for x in (f["flow_run_id"], f["grace_check_flow_run_id"])]
        poll(lambda: {r["state_type"] for r in flow_runs(stack, ids)} == {"CANCELLED"}, 30,
             "the six pending runs cancelled on Prefect")


def test_restarting_the_prefect_server_keeps_the_scheduled_runs(stack):
    with stack.client() as http:
        pid = admit(stack, http, 14)
        fus = attend_until_step_down(stack, http, pid, 14)["follow_ups"]
        ids = [x for f in fus for x in (f["flow_run_id"], f["grace_check_flow_run_id"])]
        before = {r["id"]: r["expected_start_time"] for r in flow_runs(stack, ids)}
        assert len(before) == 8

        stack.prefect.stop()
        with pytest.raises(httpx.ConnectError):  # refused at once: the server is down (not merely slow)
            httpx.get(f"{stack.prefect.api_url}/health", auth=stack.prefect.auth, timeout=2)
        stack.prefect.start()
        if stack.procs["workflows"].poll() is not None:  # the flow server gave up while Prefect was down
            stack.procs["workflows"] = start_flow_server(stack.prefect, stack.data_dir / "logs" / "workflows.log",
                                                         stack.service_env())

        after = {r["id"]: r for r in flow_runs(stack, ids)}
        assert {i: r["expected_start_time"] for i, r in after.items()} == before
        assert {r["state_type"] for i, r in after.items() if i != fus[0]["flow_run_id"]} <= {"SCHEDULED", "PENDING"}
        # and they still run: day 7 (due while the server restarted, or just after) opens
        wait_run(stack, fus[0]["flow_run_id"], "COMPLETED", 120)
        assert follow_up(http, stack, pid, 7)["status"] == "open"


def test_a_check_in_run_that_fails_is_retried_and_reminds_once(stack):
    with stack.client() as http:
        pid = admit(stack, http, 15)
        d7 = attend_until_step_down(stack, http, pid, 15)["follow_ups"][0]
        stack.stop_service("aftercare")     # the run comes due while aftercare is down: its call fails
        try:
            # the flow server may run it late on a loaded machine: wait for its failed first attempt
            poll(lambda: [r for r in flow_runs(stack, [d7["flow_run_id"]])
                          if r["state_name"] == "AwaitingRetry" or r["run_count"] >= 2], 240,
                 "the run to fail and await its retry")
        finally:
            stack.start_service("aftercare")
            stack.wait_service("aftercare")
        run = wait_run(stack, d7["flow_run_id"], "COMPLETED", 150)
        assert run["run_count"] >= 2
        reminded = poll(lambda: (f := follow_up(http, stack, pid, 7))["reminder"] == "sent" and f, 30,
                        "the dispatcher sends the reminder")
        # retried within the grace window it is open; a retry after it still reminds, and the miss stands
        assert reminded["reminder_channel"] == "file" and reminded["status"] in ("open", "missed")
        # a run executed again (or retried after aftercare did its part) changes nothing twice
        again = http.post(f"{stack.url('aftercare')}/follow-ups/{d7['follow_up_id']}/open",
                          json={"tenant_id": TENANT},
                          headers=stack.auth_headers("workflow"))  # what the flow server sends
        assert again.status_code == 200 and again.json()["opened_at"] == reminded["opened_at"]
        lines = [x for x in (stack.data_dir / "notifications.jsonl").read_text().splitlines()
                 if d7["follow_up_id"] in x]
        assert len(lines) == 1


async def test_the_prefect_client_recovers_after_a_call_cut_short_by_its_deadline(stack):
    """Under load a Prefect call can outlive its deadline; the request cut short must not leave
    the long-lived client stuck (seen: every later call timed out): the next call works."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from services.aftercare.follow_up_scheduler import PrefectFollowUpScheduler
    from services.eventing.consumer import TransientError

    scheduler = PrefectFollowUpScheduler(idempotency_prefix=stack.config.topic_prefix, deadline_s=0.001)
    far = datetime.now(UTC) + timedelta(days=30)  # never comes due during the session
    args = {"follow_up_id": "fu-deadline-probe-d7", "participant_id": "p-deadline-probe", "due_at": far}
    with temporary_settings({PREFECT_API_URL: stack.prefect.api_url,
                             PREFECT_API_AUTH_STRING: stack.prefect.auth_string}):
        try:
            with pytest.raises(TransientError, match="TimeoutError"):
                await scheduler.schedule(**args)
            scheduler.deadline_s = 15
            first = await scheduler.schedule(**args)
            assert await scheduler.schedule(**args) == first, "the same run by its idempotency key"
            await scheduler.cancel(first)
        finally:
            await scheduler.close()
    [run] = flow_runs(stack, [first])
    assert run["state_type"] in ("CANCELLING", "CANCELLED")
