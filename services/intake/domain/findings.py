"""Clinical findings (codes) derived from the scores, added to the clinician's own. Pure."""

from services.contracts.codes import Finding, Instrument

from .instruments import InstrumentResult
from .safety import SafetyFinding


def derived_findings(scores: dict[Instrument, InstrumentResult], safety: SafetyFinding | None,
                     environment_rating: int | None = None) -> set[Finding]:
    found: set[Finding] = set()
    rules = ((Instrument.PHQ9, lambda r: r.total >= 10, Finding.DEPRESSIVE_SYMPTOMS),
             (Instrument.GAD7, lambda r: r.total >= 10, Finding.ANXIETY),
             (Instrument.AUDIT_C, lambda r: r.band == "positive", Finding.ALCOHOL_USE),
             (Instrument.DAST10, lambda r: r.total >= 3, Finding.DRUG_USE))
    for instrument, hit, finding in rules:
        if instrument in scores and hit(scores[instrument]):
            found.add(finding)
    if safety:
        found.add(Finding.SUICIDAL_IDEATION)
    if environment_rating is not None and environment_rating >= 2:
        found.add(Finding.LOW_SOCIAL_SUPPORT)
    return found
