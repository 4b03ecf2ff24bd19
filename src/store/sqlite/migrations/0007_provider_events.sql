-- What providers report about a recipient after taking it (webhooks): one row
-- per event; (provider, event_id) makes a replayed callback a no-op.
CREATE TABLE provider_events (
  id INTEGER PRIMARY KEY,
  provider TEXT NOT NULL,
  event_id TEXT NOT NULL,
  recipient_id INTEGER NOT NULL REFERENCES message_recipients (id),
  kind TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  occurred_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (provider, event_id)
);
CREATE INDEX provider_events_by_recipient ON provider_events (recipient_id, occurred_at);
