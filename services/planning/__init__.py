"""Planning: individualised treatment plans from assessments, progress from attendance,
and the step-down decision. Publishes ``continuum.planning.events``."""
