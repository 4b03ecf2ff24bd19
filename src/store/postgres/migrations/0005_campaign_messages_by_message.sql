-- The campaign settler asks whether any recipient of a campaign is still open.
-- Driven from the few open recipients (the partial indexes on queued and
-- sending rows), each probe of campaign_messages by message is one index
-- lookup, instead of a walk over the campaign's rows that grows as it sends.
CREATE INDEX campaign_messages_by_message ON campaign_messages (message_id, campaign_id);
