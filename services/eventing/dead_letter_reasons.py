"""A short code for a dead letter's reason, for counting (the full reason stays in the
``dlq_reason`` header). Pure: used by the consumer's metrics and the ops read model."""

_PREFIXES = (
    ("empty message", "empty"),
    ("oversized message", "oversized"),
    ("not JSON", "not_json"),
    ("not a CloudEvent", "not_cloudevent"),
    ("unknown event type", "unknown_type"),
    ("invalid ", "invalid_data"),
    ("subject does not match", "subject_mismatch"),
    ("handler failed", "handler_failed"),
)


def reason_code(reason: str | None) -> str:
    for prefix, code in _PREFIXES:
        if (reason or "").startswith(prefix):
            return code
    return "other"
