-- One table of deliveries for every message job: the paced sender's messages
-- (seed 001) become messages with one recipient each, in the engine lane
-- 'paced', beside the API's and the campaigns' (whose lane is their channel's
-- name). Their states, attempts, provider ids and sent times move unchanged;
-- their ids become message ids (the old ones, being a separate sequence, would
-- collide): each moves up by the highest message id there was.
ALTER TABLE message_recipients ADD COLUMN lane TEXT NOT NULL DEFAULT '';
UPDATE message_recipients SET lane = channel;
DROP INDEX IF EXISTS message_recipients_due;
CREATE INDEX message_recipients_due
  ON message_recipients (lane, priority, due_at, id) WHERE status = 'queued';
-- The paced sender's list of sent messages, newest first.
CREATE INDEX message_recipients_sent_in_lane
  ON message_recipients (lane, sent_at, id) WHERE status = 'sent';

CREATE TEMP TABLE paced_id_base AS SELECT COALESCE(MAX(id), 0) AS base FROM messages;
INSERT INTO messages (id, owner_id, subject, content, priority, created_at)
  SELECT p.id + b.base, p.owner_id, '', p.content, 0, p.created_at
  FROM paced_messages p, paced_id_base b ORDER BY p.id;
INSERT INTO message_recipients (message_id, lane, channel, address, status, priority, due_at, attempts,
                                provider_message_id, last_error, updated_at, sent_at)
  SELECT p.id + b.base, 'paced', 'sms', p.recipient, p.status, 0, MAX(p.retry_at, p.created_at), p.attempts,
         p.provider_message_id, p.last_error, p.updated_at, p.sent_at
  FROM paced_messages p, paced_id_base b ORDER BY p.id;
DROP TABLE paced_id_base;
DROP TABLE paced_messages;
