"""Clinical safety rules shared by every service that takes a safety-relevant answer: the
screeners' answers (``screeners``), the one triage table with its sources (``triage``) and a
flag's lifecycle: deadlines, escalation, acknowledgement and resolution (``flags``) — pure: no
Kafka, HTTP or database; and that lifecycle applied to the owner's rows and outbox
(``recording``) with its escalation ladder (``settings``). The service that took the answer owns
the flag (docs/safety.md)."""
