"""The broker side of scale-out: Redis and BullMQ, with the row data and policies
that cross it (batches, outcomes, the shared pace). Only with the `queue` extra."""
