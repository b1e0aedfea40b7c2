"""Business metrics of the demo domain (the kit owns HTTP/DB/cache metrics)."""

from prometheus_client import Counter, Gauge

USER_REGISTRATIONS = Counter("user_registrations_total", "Users registered")
ACTIVE_USERS = Gauge(
    "active_users",
    "Users who registered or created/updated an item in the last ACTIVE_USER_WINDOW_SECONDS",
)
