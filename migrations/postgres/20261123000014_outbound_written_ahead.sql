-- Transactions that wrote every `outbound_queue` row their own events imply, ahead of the
-- projector (ADR 0010, "written ahead"): the inbox worker's when it queued every conversation
-- of its batch, the dispatcher's write-through when every reply it recorded has its row. The
-- projector's reader passes over their events (they would change nothing) and deletes the
-- rows once its checkpoint is past them; a rebuild empties the table with the queue's rows.
CREATE TABLE outbound_written_ahead (
    transaction_id xid8 PRIMARY KEY
);
