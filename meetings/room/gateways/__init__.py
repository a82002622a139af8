"""The media gateways: how the room's signalling reaches a media server.

One interface (``interface.MediaGateway``), chosen in one place
(``meetings.room.media_gateway.get_gateway``): ``local`` keeps aiortc media rooms in this
process, ``workers`` sends every request to the media worker that holds the room's lease,
``janus`` drives a Janus VideoRoom per sitting, and ``engines`` routes each room to the
engine recorded on its sitting when ``MEDIA_ENGINE`` is not ``aiortc``.
"""
