-- The dispatcher's claim in one round trip (it took five: BEGIN, SET LOCAL enable_sort, the
-- claim, COMMIT, and a read of the claimed rows). The SQLite path is the same statement in
-- `infrastructure/src/outbound/store.rs` (CANDIDATES, UPSERT_CLAIMS, CLAIMED); change both.
--
-- Walks the due index in order and stops at the limit: `enable_sort = off` for the function,
-- because the planner's estimates of a queue table lag its real size by up to a minute
-- (autovacuum's analyse), and with "a few rows" it would sort every pending reply on each claim.
-- Due, unclaimed (or the claim expired), the customer's first pending reply (one customer's
-- replies go out in order), and not of a tenant on hold. `SKIP LOCKED`: concurrent claimers take
-- different rows; the conflict clause takes over only an expired claim, which is what makes a
-- claim exclusive when two statements race.
CREATE FUNCTION lyo_claim_outbound(p_until_ms bigint, p_owner text, p_now_ms bigint, p_limit bigint)
RETURNS TABLE (reply_id text, tenant_id text, subject_id text, event_sequence bigint,
               language text, queued_at_ms bigint)
LANGUAGE plpgsql SET enable_sort = off AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH claimed AS (
    INSERT INTO outbound_claims (reply_id, until_ms, owner)
    SELECT r.reply_id, p_until_ms, p_owner FROM outbound_replies r
     WHERE r.state = 'pending' AND r.due_at_ms <= p_now_ms
       AND NOT EXISTS (SELECT 1 FROM outbound_claims c
                        WHERE c.reply_id = r.reply_id AND c.until_ms > p_now_ms)
       AND r.event_sequence = (SELECT e.event_sequence FROM outbound_replies e
                                WHERE e.subject_id = r.subject_id AND e.state = 'pending'
                                ORDER BY e.event_sequence LIMIT 1)
       AND NOT EXISTS (SELECT 1 FROM outbound_tenant_holds h
                        WHERE h.tenant_id = r.tenant_id AND h.until_ms > p_now_ms)
     ORDER BY r.due_at_ms LIMIT p_limit
       FOR UPDATE OF r SKIP LOCKED
    ON CONFLICT (reply_id) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
     WHERE outbound_claims.until_ms <= p_now_ms
    RETURNING outbound_claims.reply_id
  )
  SELECT r.reply_id, r.tenant_id, r.subject_id, r.event_sequence, r.language, r.queued_at_ms
    FROM claimed c JOIN outbound_replies r ON r.reply_id = c.reply_id;
END $$;
