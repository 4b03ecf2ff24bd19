-- Message recipients as an outbox: when a broker carries the message lanes
-- (queue.kind = rabbitmq), a relay hands each committed, due, queued recipient
-- to the broker and marks it published. A retry requested by hand clears the
-- mark so the recipient goes again. The paced lane is read from the store only.
ALTER TABLE message_recipients ADD COLUMN published INTEGER NOT NULL DEFAULT 0;
CREATE INDEX message_recipients_unpublished
  ON message_recipients (due_at, id) WHERE status = 'queued' AND published = 0 AND lane <> 'paced';
