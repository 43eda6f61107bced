-- An inbox row is written three times: inserted by the webhook, claimed by the worker
-- (`claimed_until_ms`), deleted once processed. Pages filled only half by inserts leave room
-- for the claim's new row version on the same page: a HOT update, which touches no index,
-- instead of a new version on another page plus an entry in both indexes.
ALTER TABLE webhook_inbox SET (fillfactor = 50);
