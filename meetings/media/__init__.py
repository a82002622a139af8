"""The media server: an aiortc SFU that forwards encoded frames (no decoding, no re-encoding).

- ``sfu``: ``MediaRoom`` / ``Peer``, the API the signalling layer calls.
- ``forwarding``: ``TrackForwarder`` / ``ForwardedTrack``, the fan-out of encoded frames.
- ``aiortc_tap``: the only module that touches aiortc internals (aiortc is pinned).
- ``ice``: STUN/TURN configuration and TURN REST credentials.

Pure asyncio, no Django imports: importing this package imports aiortc, so import it only
where media runs.
"""

from .forwarding import ForwardedTrack, TrackForwarder
from .ice import browser_ice_servers, build_configuration, turn_rest_credentials
from .sfu import MediaRoom, Peer, SignalError

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
