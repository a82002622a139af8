"""Media workers: meetings' media rooms pinned to worker processes by a lease in Redis.

With ``REDIS_URL`` set, media rooms do not live in the web processes. ``manage.py
media_worker`` runs a ``worker.MediaWorker``: an asyncio loop that hosts ``MediaRoom``s.
Web processes reach them through ``meetings.room.gateways.workers.WorkerMediaGateway`` over
the channel layer (channels_redis), so participants of one meeting may be connected to
different web processes and still share one ``MediaRoom``.

Routing. A gateway reads the room's lease. If a holder is live it sends the request to
that worker's own channel (``media-worker.<hex>``). If none, it sends a *claim* to the
shared channel ``media-workers``, from which channels_redis hands each message to one
waiting receiver, and waits for the claim's acknowledgement; see ``worker`` for how
exactly one worker wins, and for holding and failover.

- ``leases``: every Redis key and command (leases, members, hosted peers, heartbeats);
- ``messages``: the requests on the channel layer and the ``reset`` signal to clients;
- ``hosting``: one hosted room, its per-participant lanes and how requests apply to it;
- ``worker``: the process: receiving, claiming, renewing, sweeping, handing over.

Settings: ``MEDIA_LEASE_TTL_SECONDS`` (10), ``MEDIA_CLAIM_TIMEOUT_SECONDS`` (5),
``MEDIA_WORKERS_KEY_PREFIX`` ("media"); ``manage.py media_worker --lease-ttl`` overrides
the first.
"""
