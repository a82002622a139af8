"""What recording services refuse; ``code`` is what the room protocol sends back."""


class RecordingError(ValueError):
    code = "invalid_action"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RecordingUnavailable(RecordingError):
    code = "recording_unavailable"


class RecordingRunning(RecordingError):
    code = "recording_running"


class NotRecording(RecordingError):
    code = "not_recording"


class UnknownRecording(RecordingError):
    code = "not_found"


class InvalidTransition(RecordingError):
    code = "invalid_action"
