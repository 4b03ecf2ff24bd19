-- The message lanes' outbox as a table of its own: a row per recipient that
-- no broker was handed yet, written with the recipient and deleted once the
-- relay published it. A published flag on message_recipients made every
-- publish one more full row version of the wide, six-index recipient row, the
-- third per recipient after its claim and its outcome.
CREATE TABLE message_outbox (
  recipient_id BIGINT PRIMARY KEY,
  lane TEXT NOT NULL,
  priority INTEGER NOT NULL,
  due_at BIGINT NOT NULL
);
CREATE INDEX message_outbox_due ON message_outbox (due_at, recipient_id);

INSERT INTO message_outbox (recipient_id, lane, priority, due_at)
  SELECT id, lane, priority, due_at FROM message_recipients
  WHERE status = 'queued' AND published = 0 AND lane <> 'paced';
DROP INDEX message_recipients_unpublished;
ALTER TABLE message_recipients DROP COLUMN published;
