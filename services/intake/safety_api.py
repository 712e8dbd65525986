"""Intake's safety-flag routes: the flags raised during assessments (the shared routes of every
owner of flags, services/web/safety_flag_routes.py)."""

from services.web.safety_flag_routes import safety_flag_routes

from . import safety_flags
from .api import commands
from .tables import SafetyFlag

router = safety_flag_routes(SafetyFlag, safety_flags.EVENTS, commands, describe=safety_flags.describe,
                            clock=lambda request: safety_flags.now(), which="The flags raised during assessments")
