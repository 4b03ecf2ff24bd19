-- Sends in flight name the process that claimed them, and processes say they
-- are alive, so that with several processes on one store (herald api and
-- herald worker on PostgreSQL, or herald serve restarted) only the sends of a
-- process that stopped are reported unknown, never another's still under way.
ALTER TABLE message_recipients ADD COLUMN claimed_by TEXT;
CREATE INDEX message_recipients_in_flight ON message_recipients (claimed_by) WHERE status = 'sending';
CREATE TABLE delivery_processes (
  id TEXT PRIMARY KEY,
  started_at BIGINT NOT NULL,
  seen_at BIGINT NOT NULL
);
