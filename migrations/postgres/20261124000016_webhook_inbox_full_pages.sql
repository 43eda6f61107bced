-- Inserts fill the inbox's pages again (the default fillfactor of 100, undoing 20261123000011).
-- Half-full pages doubled the bytes the acknowledgement writes: 1.5 KB of heap per delivery
-- instead of 0.73 KB. The database host writes new pages back in bursts (every ~30 MB), and a
-- commit waiting behind a burst stalls for 20-50 ms; twice the bytes, twice the bursts, and
-- in a 10 s phase at 5,000 deliveries/s two or three bursts put the acknowledgement p99 inside
-- them. What the half-empty pages bought, a HOT update for the worker's claim, is rare since
-- the writer hands batches over already claimed, and measured on a backlog of 230-290k
-- deliveries the processing cost the same CPU per delivery (0.307 and 0.309 ms).
-- Only the pages written from now on are full; existing ones keep their free space.
ALTER TABLE webhook_inbox RESET (fillfactor);
