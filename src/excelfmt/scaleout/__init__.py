"""Scale-out: a run's rows sent by workers on many hosts through the queue.

The run's side: queuedrun (a run with --queue: the feed in the pool's place and the run's
own worker), feed (batches out, outcomes back), note (its progress in Redis for any
host); the worker's: worker (batches -> the session's sender -> pool -> outcomes) and
service (`excelfmt worker` until SIGTERM); and status (workers, batches and runs read
from Redis). What crosses Redis is in `broker`; the sending itself is `sending`'s.

Imports everything below `engine`; the engine's runs import it only when a run uses the
queue (the `queue` extra).
"""
