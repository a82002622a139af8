"""HTTP goes to Django; websockets pass the origin check (scheme, host and port) and
session auth, then the URL router that the meetings app fills."""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conferencing.settings")
# WhiteNoise serves static files with a sync iterator; under ASGI Django warns each time.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the routing modules import models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from conferencing import log_redaction  # noqa: E402
from conferencing.websocket_origin import OriginValidator  # noqa: E402
from meetings.routing import websocket_urlpatterns  # noqa: E402

# uvicorn has set up its loggers by the time it imports this module.
log_redaction.install()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
