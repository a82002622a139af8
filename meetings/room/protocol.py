"""The meeting room's websocket protocol: every message type, and its validation.

One websocket per participant at ``/ws/meetings/<join token>/?ticket=<guest ticket>``.
Every message is a JSON object with a ``type``.

Client to server::

    {"type": "hello", "last_seq": 12}            # after (re)connecting; answered with a snapshot
    {"type": "resync"}                           # the client saw a gap in ``seq``
    {"type": "heartbeat"}                        # every 15 s; silence closes the attendance session
    {"type": "chat", "text": "..."}              # 1-2000 characters
    {"type": "hand", "raised": true}
    {"type": "media_state", "audio_muted": true, "video_off": false, "screen_sharing": false}
                                                 # any subset of the three, at least one
    {"type": "media", "signal": {...}}           # SDP/ICE for the media server (see media/sfu.py;
                                                 # on Janus each signal names its connection,
                                                 # "pc": "publish" | "subscribe", see MEDIA ENGINES)
    {"type": "host", "action": "admit" | "deny" | "mute" | "remove", "target": "<participant id>"}
    {"type": "host", "action": "admit_all" | "lock" | "unlock" | "end"}
    {"type": "host", "action": "mute_all", "lock_unmute": false}   # everyone but the hosts;
                                                 # with lock_unmute they can't unmute
    {"type": "host", "action": "lock_unmute" | "unlock_unmute"}
    {"type": "leave"}                            # leaving on purpose (closing the tab is a timeout)
    {"type": "recording", "action": "start" | "stop"}                      # host only
    {"type": "recording_consent", "recording": "<recording id>", "accepted": true}
                                                 # be recorded (true) or not (false); a later
                                                 # message changes the decision

Server to client. Room-wide events carry ``seq``, one counter per meeting occurrence; a
client that sees ``seq`` jump asks for a ``resync`` (fan-out through Redis may drop
messages under load). Messages meant for one connection carry no ``seq``::

    {"type": "snapshot", "seq": 12, "you": "<participant id>", "is_host": false,
     "meeting": {"title": "...", "ends_at": "<ISO>"}, "locked": false, "unmute_locked": false,
     "time_limit": null | {"ends_at": "<ISO>", "limit_minutes": 40, "plan": "Free",
                           "upgrade_url": str | null},      # the host's plan's limit
     "recording": null | {"id", "started_at", "consent": "accepted" | "declined" | null},
     "recording_control": null | {"allowed": bool, "reason": str | null,   # hosts only
                                  "upgrade_url": str | null},
     "participants": [PARTICIPANT, ...], "lobby": [WAITING, ...],    # lobby: hosts only
     "ice_servers": [{"urls": [...], "username": ..., "credential": ...}],
     "media_engine": "aiortc" | "janus" | null}   # null: no media now (an error said why)
    {"type": "participant_joined", "seq": 13, "participant": PARTICIPANT}
    {"type": "participant_updated", "seq": 14, "participant": PARTICIPANT}
    {"type": "participant_left", "seq": 15, "id": "<participant id>", "reason": "left"}
    {"type": "chat", "seq": 16, "id": "<uuid>", "from": {"id": ..., "name": ...}, "text": "...",
     "at": "<ISO>"}
    {"type": "room_locked", "seq": 17, "locked": true}
    {"type": "muted_all", "seq": 22, "ids": ["<participant id>", ...], "unmute_locked": false}
                                                 # those muted: a client in ids mutes itself
    {"type": "unmute_locked", "seq": 23, "locked": true}  # participants may (not) unmute
    {"type": "meeting_ended", "seq": 18}                 # the host ended it for everyone
    {"type": "meeting_ended", "seq": 18, "reason": "time_limit", "limit_minutes": 40,
     "plan": "Free", "upgrade_url": str | null}          # the host's plan's limit was reached;
                                                         # clients show the link to hosts only
    {"type": "time_limit_warning", "seq": 21, "minutes_left": 5 | 1, "ends_at": "<ISO>",
     "limit_minutes": 40, "plan": "Free", "upgrade_url": str | null}
                                                         # once per threshold, see
                                                         # meetings/time_limit.py
    {"type": "recording_started", "seq": 19, "recording": {"id", "started_at", "started_by"}}
    {"type": "recording_stopped", "seq": 20, "recording": {"id"}}
    {"type": "recording_consent", "recording": "<id>", "consent": "accepted" | "declined"}
                                                         # to the participant who chose
    {"type": "lobby", "waiting": [WAITING, ...]}         # hosts only, unsequenced
    {"type": "muted_by_host"}                            # to the muted participant
    {"type": "removed"}                                  # to the removed participant, then close
    {"type": "media", "signal": {...}}                   # from the media server; a signal
                                                         # {"type": "reset"} means its worker
                                                         # died: start a fresh connection
    {"type": "error", "code": "...", "message": "...", "in_reply_to": "<type or null>"}

    PARTICIPANT = {"id", "name", "is_host", "audio_muted", "video_off", "hand_raised",
                   "screen_sharing"}
    WAITING = {"id", "name", "email", "since"}

    MEDIA ENGINES. The snapshot's ``media_engine`` says which media server the client's
    media speaks to, fixed for the sitting (meetings/room/engine.py). On "aiortc" one
    peer connection carries everything (meetings/media/negotiation.py). On "janus" the
    client opens two, and every media signal both ways carries "pc":
    "publish" (the client offers what it sends, with "sources"; the server answers)
    and "subscribe" (the server sends "tracks" then an offer with everyone else's
    streams whenever they change; the client answers). Candidates trickle with their
    "pc". A signal without "pc" in a Janus room is ignored (a client that started
    before reading the snapshot starts over); {"type": "reset"} means Janus restarted
    and the room was recreated: start over on a fresh websocket connection.

    ``participant_left`` reasons: "left" (on purpose), "removed" (by the host),
    "disconnected" (the connection was lost and no heartbeat came back within
    ``lobby.HEARTBEAT_TIMEOUT``). A mere disconnect announces nothing: the participant
    may reconnect (announced as ``participant_updated``) within that time.

Close codes: 4001 not allowed in (no, bad or expired ticket; session not admitted, or no
longer: left elsewhere, timed out; whichever door closed the session, within one heartbeat
interval at most),
4003 removed by the host, 4004 meeting ended, 4008 flooding, 4009 replaced by a newer
connection of the same participant. Before closing with one of them the server sends an
``error`` (or ``removed``/``meeting_ended``) saying why.

Error codes (``error.code``). The connection stays up after:
``invalid_json``, ``invalid_message``, ``unknown_type``, ``too_large``, ``binary_frame``,
``rate_limited`` (the message was dropped), ``invalid_signal`` (the media server refused
it), ``not_host``, ``not_found`` (no such participant here), ``invalid_action``,
``meeting_full``, ``recording_unavailable`` (plan or meeting settings, or a sitting on
Janus), ``media_unavailable`` (no audio and video now: the media server is down, with
the reason; to the hosts also when a small sitting fell back to aiortc), ``recording_running``,
``not_recording``, ``unmute_locked`` (the host muted everyone and locked unmuting).
Followed by a close:
``flooding`` (4008: too many messages, or too many reconnects of one participant: the
budget belongs to the participant, not the socket), ``replaced`` (4009), and for a
connection refused or whose session has closed (4001): ``no_ticket``, ``bad_ticket``,
``ticket_expired`` (fetch a new ticket from the lobby page's status and reconnect),
``wrong_meeting``, ``not_admitted``, ``wrong_user``, ``meeting_over``, ``session_closed``.

Size: a frame is at most ``MAX_MESSAGE_BYTES``, or ``MAX_MEDIA_MESSAGE_BYTES`` for a
``media`` message, recognised by ``"type": "media"`` near its start (send ``type`` first).
"""

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_BYTES = 4 * 1024
MAX_MEDIA_MESSAGE_BYTES = 256 * 1024
MAX_CHAT_CHARACTERS = 2000

CLOSE_NOT_ALLOWED = 4001
CLOSE_REMOVED = 4003
CLOSE_ENDED = 4004
CLOSE_FLOODING = 4008
CLOSE_REPLACED = 4009

TARGETED_HOST_ACTIONS = frozenset({"admit", "deny", "mute", "remove"})
ROOM_HOST_ACTIONS = frozenset(
    {"admit_all", "lock", "unlock", "end", "mute_all", "lock_unmute", "unlock_unmute"}
)
MEDIA_STATE_FIELDS = ("audio_muted", "video_off", "screen_sharing")


class ProtocolError(ValueError):
    """A message the server refuses; the connection stays up."""

    def __init__(self, code: str, message: str, in_reply_to: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.in_reply_to = in_reply_to

    def as_message(self) -> dict[str, Any]:
        return {
            "type": "error",
            "code": self.code,
            "message": self.message,
            "in_reply_to": self.in_reply_to,
        }


@dataclass(frozen=True)
class Message:
    type: str
    data: dict[str, Any]


def _require(condition: bool, kind: str, message: str) -> None:
    if not condition:
        raise ProtocolError("invalid_message", message, kind)


def _boolean(data: dict[str, Any], name: str, kind: str) -> bool:
    _require(isinstance(data.get(name), bool), kind, f"“{name}” must be true or false.")
    return bool(data[name])


def _hello(data: dict[str, Any]) -> dict[str, Any]:
    last = data.get("last_seq", 0)
    _require(
        isinstance(last, int) and not isinstance(last, bool) and last >= 0,
        "hello",
        "“last_seq” must be a whole number of 0 or more.",
    )
    return {"last_seq": last}


def _chat(data: dict[str, Any]) -> dict[str, Any]:
    text = data.get("text")
    _require(isinstance(text, str), "chat", "A chat message needs “text”.")
    text = str(text).strip()
    _require(bool(text), "chat", "A chat message can't be empty.")
    _require(
        len(text) <= MAX_CHAT_CHARACTERS,
        "chat",
        f"A chat message is at most {MAX_CHAT_CHARACTERS} characters.",
    )
    return {"text": text}


def _hand(data: dict[str, Any]) -> dict[str, Any]:
    return {"raised": _boolean(data, "raised", "hand")}


def _media_state(data: dict[str, Any]) -> dict[str, Any]:
    present = [name for name in MEDIA_STATE_FIELDS if name in data]
    _require(
        bool(present),
        "media_state",
        "Say which of audio_muted, video_off and screen_sharing changed.",
    )
    return {name: _boolean(data, name, "media_state") for name in present}


def _media(data: dict[str, Any]) -> dict[str, Any]:
    signal = data.get("signal")
    _require(isinstance(signal, dict), "media", "“signal” must be an object.")
    _require(
        signal.get("type") in ("sdp", "candidate"),  # type: ignore[union-attr]
        "media",
        "A media signal is an “sdp” or a “candidate”.",
    )
    return {"signal": signal}


def _host(data: dict[str, Any]) -> dict[str, Any]:
    action = data.get("action")
    _require(
        action in TARGETED_HOST_ACTIONS | ROOM_HOST_ACTIONS,
        "host",
        "Unknown host action. Use admit, deny, admit_all, mute, mute_all, lock_unmute, "
        "unlock_unmute, remove, lock, unlock or end.",
    )
    if action in TARGETED_HOST_ACTIONS:
        target = data.get("target")
        _require(
            isinstance(target, str) and 0 < len(target) <= 64,
            "host",
            f"“{action}” needs the participant's id in “target”.",
        )
        return {"action": action, "target": target}
    if action == "mute_all":
        lock = data.get("lock_unmute", False)
        _require(isinstance(lock, bool), "host", "“lock_unmute” must be true or false.")
        return {"action": action, "lock_unmute": lock}
    return {"action": action}


def _recording(data: dict[str, Any]) -> dict[str, Any]:
    action = data.get("action")
    _require(action in ("start", "stop"), "recording", "“action” must be start or stop.")
    return {"action": action}


def _recording_consent(data: dict[str, Any]) -> dict[str, Any]:
    recording = data.get("recording")
    _require(
        isinstance(recording, str) and 0 < len(recording) <= 64,
        "recording_consent",
        "“recording” must be the recording's id.",
    )
    return {"recording": recording, "accepted": _boolean(data, "accepted", "recording_consent")}


def _empty(_: dict[str, Any]) -> dict[str, Any]:
    return {}


_PARSERS = {
    "hello": _hello,
    "resync": _empty,
    "heartbeat": _empty,
    "chat": _chat,
    "hand": _hand,
    "media_state": _media_state,
    "media": _media,
    "host": _host,
    "leave": _empty,
    "recording": _recording,
    "recording_consent": _recording_consent,
}
CLIENT_TYPES = frozenset(_PARSERS)


# Clients put "type" first; only a message that opens as a media one gets the large cap.
_MEDIA_TYPE = re.compile(r'\s*\{\s*"type"\s*:\s*"media"')


def size_limit(raw: str) -> int:
    """Media messages carry SDP and may be large; everything else is small."""
    return MAX_MEDIA_MESSAGE_BYTES if _MEDIA_TYPE.match(raw) else MAX_MESSAGE_BYTES


def parse(content: Any) -> Message:
    """Validate one decoded client message, or raise ProtocolError saying what is wrong."""
    if not isinstance(content, dict):
        raise ProtocolError("invalid_message", "Each message must be a JSON object.")
    kind = content.get("type")
    if not isinstance(kind, str) or kind not in _PARSERS:
        raise ProtocolError(
            "unknown_type",
            f"Unknown message type. Use one of: {', '.join(sorted(CLIENT_TYPES))}.",
            kind if isinstance(kind, str) else None,
        )
    return Message(kind, _PARSERS[kind](content))


def decode(text: str | None) -> Message:
    """One websocket frame (None for a binary one): size first, then JSON, then fields."""
    if text is None:
        raise ProtocolError(
            "binary_frame", "Binary frames are not understood: send JSON in text frames."
        )
    limit = size_limit(text)
    if len(text) > limit or len(text.encode()) > limit:
        raise ProtocolError("too_large", f"A message is at most {limit // 1024} KB.")
    try:
        content = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("invalid_json", "A message must be valid JSON.") from None
    return parse(content)
