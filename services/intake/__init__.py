"""Intake: referrals and the multi-disciplinary assessment, scored instruments,
safety routing and the level-of-care decision. Publishes ``continuum.intake.events``."""
