"""Django's side of Janus (deploy/janus/): the only code that speaks Janus's APIs.

- ``transport``: HTTP with a timeout on every call; ``JanusUnavailable`` / ``JanusError``.
- ``client``: the Janus API: sessions (keepalive, events), plugin handles.
- ``admin``: the admin API: ping/info/status, tokens (``token_auth`` is on in Janus).
- ``videoroom``: rooms for sittings and their moderation, on a token of Django's own.
- ``health``: ``janus_health()``, whether Janus can take a room now and why not.

Pure asyncio and aiohttp; settings are read only by the ``from_settings`` constructors.
Kept outside ``meetings.media`` so that importing it does not import aiortc.
"""
