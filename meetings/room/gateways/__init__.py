"""The media gateways: how the room's signalling reaches a media server.

One interface (``interface.MediaGateway``), two implementations, chosen in one place
(``meetings.room.media_gateway.get_gateway``): ``local`` keeps media rooms in this process,
``workers`` sends every request to the media worker that holds the room's lease.
"""
