"""Why intake refuses a command, each with its HTTP status. Raised by the handlers,
answered by the API; a refused command changes nothing (its transaction rolls back)."""


class Refused(Exception):
    status_code = 409

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class UnknownParticipant(Refused, LookupError):
    status_code = 404


class UnknownAssessment(Refused, LookupError):
    status_code = 404


class Conflict(Refused):
    status_code = 409


class NotPermitted(Refused):
    """The signer's role may not do this (the signer's role is as stated in the body)."""

    status_code = 403


class Incomplete(Refused):
    """The assessment lacks required sections or instruments; names them."""

    status_code = 422
