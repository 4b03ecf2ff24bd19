-- The engine's commit (a batch of outcomes and the next claims, thousands of
-- times a campaign) as a function with one plan per connection. Run as a
-- prepared statement it was planned anew at every call, which cost more than
-- running it (measured: 0.25 ms of 0.41 ms); a plan kept across calls must
-- not depend on the table's size when it was made (a first campaign starts on
-- an empty table and ends with 50,000 rows), so the planner may only walk the
-- primary key, whatever the statistics say.
CREATE FUNCTION herald_record_and_claim(
    p_now BIGINT, p_ids BIGINT[], p_statuses TEXT[], p_provider_ids TEXT[], p_details TEXT[],
    p_retry_at BIGINT[], p_claimed BIGINT[], p_claimant TEXT, p_claims BIGINT[])
  RETURNS SETOF BIGINT LANGUAGE plpgsql
  SET plan_cache_mode = force_generic_plan
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $$
BEGIN
  -- The claim sees the rows as they were before the outcomes (one snapshot):
  -- the caller never passes a recipient in both.
  RETURN QUERY
  WITH recorded AS (
    UPDATE message_recipients r SET status = v.status, provider_message_id = v.provider_message_id,
      last_error = v.detail, updated_at = p_now,
      due_at = CASE WHEN v.status = 'queued' THEN v.retry_at ELSE r.due_at END,
      sent_at = CASE WHEN v.status = 'sent' THEN p_now ELSE r.sent_at END
    FROM unnest(p_ids, p_statuses, p_provider_ids, p_details, p_retry_at, p_claimed)
      AS v (id, status, provider_message_id, detail, retry_at, claimed)
    WHERE r.id = v.id AND CASE WHEN v.claimed = 1 THEN r.status = 'sending' AND r.claimed_by = p_claimant
                               ELSE r.status = 'queued' END)
  UPDATE message_recipients r SET status = 'sending', updated_at = p_now, claimed_by = p_claimant,
    attempts = r.attempts + CASE WHEN r.status = 'queued' THEN 1 ELSE 0 END
  FROM unnest(p_claims) AS c (id)
  WHERE r.id = c.id AND (r.status = 'queued' OR (r.status = 'sending' AND r.claimed_by = p_claimant))
  RETURNING r.id;
END
$$;
