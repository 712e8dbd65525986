"""Aftercare: step-down, the aftercare plan, discharge and the follow-up check-ins that
Prefect runs over months. Publishes ``continuum.aftercare.events``."""
