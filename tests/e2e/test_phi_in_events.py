"""No PHI in clear on any topic: after the demo cohort has gone through the whole stack (and
whatever else the session's tests sent), every record on every events and dead-letter topic
is scanned for the names, birth dates, contact details and words the cohort submitted, and
for anything shaped like an email address, a phone number or a birth date. The goals in the
participant's own words must be there, sealed, and open for their participant."""

import pytest

from deploy import api_client as api
from deploy.demo_cohort import assessment
from services.contracts.sealed import SealedValue
from services.contracts.topics import declared_topics, events_topic
from services.eventing.settings import ContinuumSettings
from services.privacy.sealing import goal_field, open_sealed
from services.privacy.settings import local_key_management
from tests.support.phi_scan import clear_phi_keys, cohort_phi, scannable_text, sealed_values
from tests.support.waiting import poll

pytestmark = pytest.mark.e2e


def read_everything(stack, readers):
    reader = readers(*[t.name for t in declared_topics(stack.config.topic_prefix)])
    quiet = 0
    while quiet < 3:  # until three polls in a row bring nothing new
        quiet = quiet + 1 if not reader.poll() else 0
    return reader


def test_no_topic_carries_phi_in_clear_and_the_goals_travel_sealed(stack, demo_cohort, readers):
    known = cohort_phi(range(30))  # the cohort, and the other tests' participants made by the same functions
    reader = read_everything(stack, readers)
    assert len(reader.records) > 200 and {r.topic for r in reader.records} >= {
        events_topic(s, stack.config.topic_prefix) for s in ("intake", "planning", "scheduling", "aftercare")}
    leaks, clear_keys, sealed = [], [], 0
    for r in reader.records:
        text, doc = scannable_text(r.value, r.headers)
        what = f"{r.topic} {r.headers.get('ce_type', b'?').decode()} @{r.offset}"
        leaks += [(what, leak) for leak in known.found_in(text)]
        if doc is not None:
            clear_keys += [(what, path) for path in clear_phi_keys(doc)]
            sealed += sum(1 for _ in sealed_values(doc))
    assert leaks == [] and clear_keys == []
    assert sealed >= 2 * len(demo_cohort.people), "the goals travel (sealed), they are not dropped"

    keys = local_key_management(ContinuumSettings(data_dir=stack.data_dir))
    intake = [r for r in reader.records if r.topic == events_topic("intake", stack.config.topic_prefix)
              and r.headers.get("ce_type") == b"continuum.intake.assessment_completed.v1"]
    for p in demo_cohort.people:
        said = [g["text"] for g in assessment(p.index)["sections"]["clinical_interview"]["goals"]]
        completed = [r.event["data"] for r in intake if r.key == p.participant_id.encode()]
        assert completed, f"participant {p.index} has an AssessmentCompleted"
        for data in completed:
            assert [g["goal_id"] for g in data["goals"]] == data["goal_ids"]
            assert [open_sealed(keys, p.participant_id, goal_field(g["goal_id"]), SealedValue.model_validate(g["text"]))
                    for g in data["goals"]] == said
    admitted = next(p for p in demo_cohort.people if p.stage == "aftercare")
    with stack.client() as http:  # planning shows the words it holds sealed
        plan = poll(lambda: api.plan(http, stack.urls(), admitted.participant_id), 30, "a plan")["plan"]
    assert [g["words"] for g in plan["goals"]] == [
        g["text"] for g in assessment(admitted.index)["sections"]["clinical_interview"]["goals"]]
