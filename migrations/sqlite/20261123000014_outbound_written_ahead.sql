-- Postgres lists here the transactions whose `outbound_queue` rows were written ahead of the
-- projector (ADR 0010). SQLite has no such writers: the table stays empty, and exists so that
-- the queue's rebuild empties the same tables on both.
CREATE TABLE outbound_written_ahead (
    transaction_id INTEGER PRIMARY KEY
);
