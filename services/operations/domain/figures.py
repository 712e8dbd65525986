"""The dashboard's figures from the read model's rows. Pure: rows in (``{table: [row]}``),
figures out, as of ``now``, optionally for one tenant and/or program."""

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import pairwise
from statistics import median
from zoneinfo import ZoneInfo

STAGES = ("referred", "assessed", "planned", "scheduled", "ready_for_step_down", "discharged",
          "follow_ups")
SAFETY_GAP = ("Every flag is answered where it was raised: intake's for assessments, aftercare's for "
              "check-ins (acknowledged, resolved, escalated, each with its event). Times come from the events.")
_SEVERITY_RANK = {"imminent": 0, "high": 1, "moderate": 2}

Rows = dict[str, list[dict]]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def scope_rows(rows: Rows, tenant: str, programs: tuple[str, ...]) -> Rows:
    """Only what a caller of ``tenant`` with ``programs`` may see (dead letters carry ids and
    reasons only and no reliable tenant: kept whole)."""
    return {t: (rs if t == "dead_letters" else
                [r for r in rs if r.get("tenant_id") == tenant and r.get("program_id") in programs])
            for t, rs in rows.items()}


def filter_rows(rows: Rows, tenant: str | None = None, program: str | None = None) -> Rows:
    """Rows of one tenant/program (dead letters have no reliable tenant: kept whole)."""
    def keep(r: dict) -> bool:
        return ((tenant is None or r.get("tenant_id") == tenant)
                and (program is None or r.get("program_id") == program))
    return {t: (rs if t == "dead_letters" else [r for r in rs if keep(r)]) for t, rs in rows.items()}


def census(rows: Rows) -> dict:
    c = Counter((e["program_id"], e.get("plan_level_of_care") or e.get("level_of_care"))
                for e in rows.get("episodes", []) if e.get("admitted_at") and not e.get("discharged_at"))
    by = [{"program_id": p, "level_of_care": lvl, "participants": n} for (p, lvl), n in sorted(c.items())]
    return {"total": sum(c.values()), "by_program_and_level": by}


def admissions_and_discharges(rows: Rows) -> list[dict]:
    days: dict[str, Counter] = defaultdict(Counter)
    for e in rows.get("episodes", []):
        if e.get("admitted_at"):
            days[e["admitted_at"].date().isoformat()]["admissions"] += 1
        if e.get("discharged_at"):
            days[e["discharged_at"].date().isoformat()]["discharges"] += 1
    return [{"day": d, "admissions": c["admissions"], "discharges": c["discharges"]}
            for d, c in sorted(days.items())]


def session_status(s: dict) -> str:
    for status, col in (("attended", "attended_at"), ("missed", "missed_at"), ("cancelled", "cancelled_at")):
        if s.get(col):
            return status
    return "scheduled"


def sessions(rows: Rows) -> dict:
    c = Counter(session_status(s) for s in rows.get("sessions", []))
    recorded = c["attended"] + c["missed"]
    return {"scheduled": sum(c.values()), "attended": c["attended"], "missed": c["missed"],
            "cancelled": c["cancelled"], "awaiting_attendance": c["scheduled"],
            "attendance_rate": _rate(c["attended"], recorded)}


def hours_compliance(rows: Rows, now: datetime) -> dict:
    latest: dict[tuple, dict] = {}
    for w in rows.get("weeks", []):
        k = (w["plan_id"], w["week_start"])
        if k not in latest or w["plan_version"] > latest[k]["plan_version"]:
            latest[k] = w
    attended: Counter = Counter()
    for s in rows.get("sessions", []):
        if s.get("minutes_attended") and s.get("week_start"):
            attended[(s["plan_id"], s["week_start"])] += s["minutes_attended"] / 60
    weeks = []
    for (plan_id, week_start), w in sorted(latest.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        week_ended = datetime.combine(date.fromisoformat(week_start) + timedelta(days=7), datetime.min.time(),
                                      tzinfo=now.tzinfo) <= now
        weeks.append({"participant_id": w["participant_id"], "plan_id": plan_id, "week_start": week_start,
                      "hours_required": w["hours_required"], "hours_scheduled": w["hours_scheduled"],
                      "hours_attended": round(attended[(plan_id, week_start)], 2), "week_ended": week_ended,
                      "scheduled_meets_minimum": w["hours_scheduled"] >= w["hours_required"],
                      "attended_meets_minimum": attended[(plan_id, week_start)] >= w["hours_required"]})
    ended = [w for w in weeks if w["week_ended"]]
    sched_ok = sum(w["scheduled_meets_minimum"] for w in weeks)
    att_ok = sum(w["attended_meets_minimum"] for w in ended)
    return {"participant_weeks": len(weeks), "scheduled_meeting_minimum": sched_ok,
            "scheduled_compliance_rate": _rate(sched_ok, len(weeks)),
            "ended_weeks": len(ended), "ended_weeks_attended_meeting_minimum": att_ok,
            "attended_compliance_rate": _rate(att_ok, len(ended)),
            "hours_below_minimum_alerts": len(rows.get("hours_alerts", [])), "weeks": weeks[-50:]}


def journeys(rows: Rows) -> list[dict]:
    """One journey per referral: the time each stage was first reached (None: not yet)."""
    episodes = {e["episode_id"]: e for e in rows.get("episodes", [])}
    first_scheduled: dict[str, datetime] = {}
    for p in rows.get("plans", []):
        if p.get("episode_id") and p.get("scheduled_at"):
            prev = first_scheduled.get(p["episode_id"])
            first_scheduled[p["episode_id"]] = min(prev, p["scheduled_at"]) if prev else p["scheduled_at"]
    out = []
    for r in rows.get("referrals", []):
        e = episodes.get(r.get("episode_id") or "", {})
        out.append({"participant_id": r["participant_id"], "referral_id": r["referral_id"],
                    "referred_out": bool(r.get("referred_out_at")),
                    "referred": r.get("received_at"), "assessed": r.get("assessed_at"),
                    "planned": e.get("planned_at"), "scheduled": first_scheduled.get(r.get("episode_id") or ""),
                    "ready_for_step_down": e.get("ready_for_step_down_at"),
                    "discharged": e.get("discharged_at"), "follow_ups": e.get("follow_ups_scheduled_at")})
    return out


def pipeline(rows: Rows) -> dict:
    js = journeys(rows)
    stages = [{"stage": s, "reached": sum(1 for j in js if j[s])} for s in STAGES]
    transitions = []
    for a, b in pairwise(STAGES):
        gaps = [(j[b] - j[a]).total_seconds() for j in js if j[a] and j[b]]
        transitions.append({"from": a, "to": b, "participants": len(gaps),
                            "median_hours": round(median(gaps) / 3600, 3) if gaps else None,
                            "mean_hours": round(sum(gaps) / len(gaps) / 3600, 3) if gaps else None})
    current = Counter("referred_out" if j["referred_out"] else next(s for s in reversed(STAGES) if j[s])
                      for j in js if j["referred"] or j["referred_out"])
    return {"stages": stages, "transitions": transitions, "referred_out": sum(j["referred_out"] for j in js),
            "current_stage": dict(sorted(current.items()))}


ZoneOf = Callable[[str | None], ZoneInfo]
"""The time zone of a program (the follow-up windows count its local calendar days)."""


def local_days(start: datetime, t: datetime, tz: ZoneInfo) -> int:
    """Calendar days from ``start``'s local date (day 0) to ``t``'s, in ``tz``."""
    return (t.astimezone(tz).date() - start.astimezone(tz).date()).days


def follow_up_completion(rows: Rows, now: datetime, zone_of: ZoneOf = lambda program: ZoneInfo("UTC")) -> dict:
    """The share of discharges with a completed follow-up within 7 and within 30 days after the
    discharge date, in the program's local calendar days; the discharge date (day 0) does not
    count (HEDIS FUH/FUM, as aftercare's ``/measures/follow-up``). A discharge whose window is
    still open and not met yet is ``pending``, not counted."""
    completed: dict[str, list[datetime]] = defaultdict(list)
    for f in rows.get("follow_ups", []):
        if f.get("completed_at") and f.get("episode_id"):
            completed[f["episode_id"]].append(f["completed_at"])
    discharged = [e for e in rows.get("episodes", []) if e.get("discharged_at")]
    out: dict = {"discharged": len(discharged)}
    for days in (7, 30):
        within = eligible = 0
        for e in discharged:
            tz = zone_of(e.get("program_id"))
            met = any(1 <= local_days(e["discharged_at"], c, tz) <= days for c in completed.get(e["episode_id"], []))
            within += met
            eligible += met or local_days(e["discharged_at"], now, tz) > days
        out[f"within_{days}_days"] = {"completed": within, "eligible": eligible,
                                      "pending": len(discharged) - eligible, "rate": _rate(within, eligible)}
    by_offset: dict[int, Counter] = defaultdict(Counter)
    for f in rows.get("follow_ups", []):
        status = ("completed" if f.get("completed_at") else "missed" if f.get("missed_at")
                  else "overdue" if f.get("due_at") and f["due_at"] < now else "upcoming")
        by_offset[f.get("day_offset", -1)][status] += 1
    out["by_day_offset"] = [{"day_offset": d, **{k: c[k] for k in ("completed", "missed", "overdue", "upcoming")}}
                            for d, c in sorted(by_offset.items())]
    return out


def _minutes(pairs: list[tuple[datetime, datetime]]) -> dict:
    gaps = sorted((b - a).total_seconds() / 60 for a, b in pairs)
    return {"flags": len(gaps), "median_minutes": round(median(gaps), 2) if gaps else None,
            "max_minutes": round(gaps[-1], 2) if gaps else None}


def _response_times(flags: list[dict], column: str) -> dict:
    """Per severity: how long from the flag to ``column`` (acknowledged_at or resolved_at)."""
    by: dict[str, list] = defaultdict(list)
    for f in flags:
        if f.get(column) and f.get("flagged_at"):
            by[f["severity"]].append((f["flagged_at"], f[column]))
    return {sev: _minutes(by[sev]) for sev in sorted(by, key=lambda s: _SEVERITY_RANK.get(s, 9))}


def safety_flags(rows: Rows, now: datetime) -> dict:
    """Every unresolved flag, overdue ones first (nobody acknowledged it by its deadline), then
    the most severe, then the earliest deadline; and the time to acknowledge and to resolve
    per severity over every flag answered."""
    flags = [f for f in rows.get("safety_flags", []) if f.get("flagged_at")]
    unresolved = []
    for f in flags:
        if f.get("resolved_at"):
            continue
        overdue = not f.get("acknowledged_at") and f.get("respond_by") is not None and now > f["respond_by"]
        unresolved.append({
            "flag_id": f["flag_id"], "participant_id": f["participant_id"], "severity": f["severity"],
            "program_id": f["program_id"], "source": f.get("source") or "assessment",
            "flagged_at": f["flagged_at"].isoformat(),
            "respond_by": f["respond_by"].isoformat() if f.get("respond_by") else None,
            "age_hours": round((now - f["flagged_at"]).total_seconds() / 3600, 2), "overdue": overdue,
            "status": "acknowledged" if f.get("acknowledged_at") else "open",
            "escalation_level": f.get("escalation_level") or 0,
            "escalated_to": f["escalated_to"].split(":", 1)[1] if f.get("escalated_to") else None})
    unresolved.sort(key=lambda x: (not x["overdue"], _SEVERITY_RANK.get(x["severity"], 9),
                                   x["respond_by"] or "", x["flagged_at"]))
    return {"raised": len(flags), "open": len(unresolved), "overdue": sum(f["overdue"] for f in unresolved),
            "unacknowledged": sum(f["status"] == "open" for f in unresolved),
            "resolved": len(flags) - len(unresolved),
            "by_severity": dict(Counter(f["severity"] for f in unresolved)),
            "oldest_age_hours": max((f["age_hours"] for f in unresolved), default=None),
            "flags": unresolved[:50],
            "time_to_acknowledge": _response_times(flags, "acknowledged_at"),
            "time_to_resolve": _response_times(flags, "resolved_at"), "gap": SAFETY_GAP}


def dead_letters(rows: Rows) -> dict:
    ds = rows.get("dead_letters", [])
    by = Counter((d["consumer"], d["reason_code"]) for d in ds)
    return {"total": len(ds), "by_reason": dict(Counter(d["reason_code"] for d in ds)),
            "by_consumer_and_reason": [{"consumer": c, "reason_code": r, "count": n}
                                       for (c, r), n in sorted(by.items())]}


def event_counts(rows: Rows) -> dict:
    c: Counter = Counter()
    for r in rows.get("event_counts", []):
        c[r["event_type"]] += r["count"]
    return dict(sorted(c.items()))


def filters(rows: Rows) -> dict:
    seen = [r for t, rs in rows.items() if t != "dead_letters" for r in rs]
    return {"tenants": sorted({r["tenant_id"] for r in seen if r.get("tenant_id")}),
            "programs": sorted({r["program_id"] for r in seen if r.get("program_id")})}


def figures(rows: Rows, now: datetime, tenant: str | None = None, program: str | None = None,
            zone_of: ZoneOf = lambda program: ZoneInfo("UTC")) -> dict:
    mine = filter_rows(rows, tenant, program)
    return {
        "as_of": now.isoformat(), "tenant_id": tenant, "program_id": program, "filters": filters(rows),
        "census": census(mine), "admissions_and_discharges": admissions_and_discharges(mine),
        "sessions": sessions(mine), "hours_compliance": hours_compliance(mine, now),
        "pipeline": pipeline(mine), "follow_up_completion": follow_up_completion(mine, now, zone_of),
        "safety_flags": safety_flags(mine, now), "dead_letters": dead_letters(mine),
        "events_by_type": event_counts(mine),
    }
