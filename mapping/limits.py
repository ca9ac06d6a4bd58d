"""How many JDBC reads a run may hold open on the source at once (pure).

Every running Spark task that reads a table holds one connection for as long as its
partition streams. A cluster with more task slots than the server has connections to spare
would fail with "Too many connections", or starve the application of them.
"""

from typing import Tuple

SAFE_MAX_READS = 16  # never more by default: each is a long index range scan on a live server
APPLICATION_SHARE = 2  # by default the job takes at most 1/2 of the connections free when it starts
DRIVER_CONNECTIONS = 2  # the driver's own (plan, positions, verification's split check)


def read_bound(configured: int, max_connections: int, connected: int, max_user_connections: int) -> Tuple[int, str]:
    """(reads open at once across all tables, why). configured 0: chosen from the server's
    connections: half of those free, at most SAFE_MAX_READS, within a per-user limit."""
    free = max(0, max_connections - connected)
    seen = f"max_connections {max_connections}, {connected} connected"
    if max_user_connections:
        seen += f", max_user_connections {max_user_connections}"
    if configured:
        return configured, f"mysql.max_concurrent_reads {configured} ({seen})"
    bound = min(SAFE_MAX_READS, free // APPLICATION_SHARE)
    why = f"half of the {free} connections free ({seen}), at most {SAFE_MAX_READS}"
    if max_user_connections and max_user_connections - DRIVER_CONNECTIONS < bound:
        bound = max_user_connections - DRIVER_CONNECTIONS
        why = f"max_user_connections {max_user_connections} less the driver's {DRIVER_CONNECTIONS} ({seen})"
    return max(1, bound), why
