-- No statement filters, joins or sorts on these columns: event payloads and metadata, sealed
-- bodies, wrapped keys, sealed numbers. Their statistics were the larger part of an ANALYZE of
-- `events` (30,000 sampled JSON documents detoasted, compared and sorted: 300 ms of CPU at
-- 40,000 events, 135 ms without them), which autovacuum runs in the middle of traffic whenever
-- a tenth of the table is new. Without statistics the planner uses its defaults for them, which
-- no query of ours reaches.
ALTER TABLE events ALTER COLUMN payload SET STATISTICS 0, ALTER COLUMN metadata SET STATISTICS 0;
ALTER TABLE webhook_inbox ALTER COLUMN body_sealed SET STATISTICS 0;
ALTER TABLE subject_keys ALTER COLUMN wrapped_key SET STATISTICS 0;
ALTER TABLE outbound_customers ALTER COLUMN wa_id SET STATISTICS 0;
