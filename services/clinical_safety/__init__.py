"""Clinical safety rules shared by every service that takes a safety-relevant answer: the
screeners' answers (``screeners``), the one triage table with its sources (``triage``) and a
flag's lifecycle: deadlines, escalation, acknowledgement and resolution (``flags``). Pure:
no Kafka, HTTP or database. The service that took the answer owns the flag (docs/safety.md)."""
