-- The inbox worker's claim of the replies it has just queued, in the same transaction (ADR
-- 0010, "handed over"): the replies it wrote into `outbound_replies` a statement earlier are
-- claimed for this process's dispatcher and returned with their customers, so the dispatcher
-- sends them without a claim or a read of its own.
--
-- The same rules as `lyo_claim_outbound`, for the given replies only and at most `p_limit` of
-- them (a dispatcher's batch): the customer's first pending reply (a customer with an earlier
-- reply still pending waits for it), not of a tenant on hold. No `SKIP LOCKED` and no due
-- check: nobody else can see these rows before the transaction commits, and a reply is due
-- when it is queued. A reply not returned is left to the dispatcher's claim. One key probe per
-- row (LATERAL with LIMIT), whatever the planner thinks of the tables: the pending-only due
-- index, which it likes for `state = 'pending'`, holds every reply sent since the last vacuum.
-- PL/pgSQL, which keeps its plan (an SQL function is planned on every call).
CREATE FUNCTION lyo_claim_queued(p_replies text[], p_until_ms bigint, p_owner text, p_now_ms bigint,
                                 p_limit bigint)
RETURNS TABLE (reply_id text, tenant_id text, subject_id text, event_sequence bigint,
               language text, queued_at_ms bigint,
               wa_id text, user_id text, last_inbound_at bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH candidates AS MATERIALIZED (
    SELECT r.reply_id, r.tenant_id, r.subject_id, r.event_sequence, r.language, r.queued_at_ms
      FROM unnest(p_replies) AS q(reply_id)
     CROSS JOIN LATERAL (SELECT * FROM outbound_replies r
                          WHERE r.reply_id = q.reply_id LIMIT 1) r
     WHERE r.state = 'pending'
       AND r.event_sequence = (SELECT e.event_sequence FROM outbound_replies e
                                WHERE e.subject_id = r.subject_id AND e.state = 'pending'
                                ORDER BY e.event_sequence LIMIT 1)
       AND NOT EXISTS (SELECT 1 FROM outbound_tenant_holds h
                        WHERE h.tenant_id = r.tenant_id AND h.until_ms > p_now_ms)
     ORDER BY r.event_sequence
     LIMIT p_limit
  ), claimed AS (
    INSERT INTO outbound_claims (reply_id, until_ms, owner)
    SELECT c.reply_id, p_until_ms, p_owner FROM candidates c
    ON CONFLICT (reply_id) DO NOTHING
    RETURNING outbound_claims.reply_id
  )
  SELECT c.reply_id, c.tenant_id, c.subject_id, c.event_sequence, c.language, c.queued_at_ms,
         k.wa_id, k.user_id, k.last_inbound_at
    FROM candidates c
    JOIN claimed USING (reply_id)
    LEFT JOIN LATERAL (SELECT * FROM outbound_customers k
                        WHERE k.subject_id = c.subject_id LIMIT 1) k ON true;
END $$;
