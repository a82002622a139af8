"""Domain errors of meetings; each carries a message fit to show the person."""


class MeetingError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotJoinable(MeetingError):
    """The link leads nowhere joinable. Unknown, ended and cancelled look the same."""

    def __init__(self) -> None:
        super().__init__("This meeting link is not valid or the meeting is no longer available.")


class MeetingFull(MeetingError):
    pass


class MeetingLocked(MeetingError):
    def __init__(self) -> None:
        super().__init__("The host has locked this meeting: nobody new can join right now.")


class InvalidTransition(MeetingError):
    pass


class WrongPasscode(MeetingError):
    pass


class RateLimited(MeetingError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ActionRefused(MeetingError):
    """A room action was not done; ``code`` is the room protocol's error code, ``status``
    the HTTP status the API answers with."""

    STATUS = {"not_host": 403, "not_found": 404, "unmute_locked": 403}

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def status(self) -> int:
        return self.STATUS.get(self.code, 409)
