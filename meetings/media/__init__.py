"""The media server: an aiortc SFU that forwards encoded frames (no decoding, no re-encoding).

- ``sfu``: ``MediaRoom``, the API the signalling layer calls.
- ``negotiation``: ``Peer``, one participant's connection and its offer/answer exchange.
- ``routing``: ``Router``, who receives what.
- ``publication`` / ``subscription``: one published track, one track forwarded to a peer.
- ``forwarding``: ``TrackForwarder`` / ``ForwardedTrack``, the fan-out of encoded frames.
- ``recorder``: recordings, one WebM per track and the journal (``recordings.journal``).
- ``aiortc_tap``: the only module that touches aiortc internals (aiortc is pinned).
- ``ice``: STUN/TURN configuration and TURN REST credentials.

Pure asyncio, no Django imports: importing this package imports aiortc, so import it only
where media runs.
"""

from .forwarding import ForwardedTrack, TrackForwarder
from .ice import browser_ice_servers, build_configuration, turn_rest_credentials
from .negotiation import Peer, SignalError
from .sfu import MediaRoom

__all__ = [
    "ForwardedTrack",
    "MediaRoom",
    "Peer",
    "SignalError",
    "TrackForwarder",
    "browser_ice_servers",
    "build_configuration",
    "turn_rest_credentials",
]
