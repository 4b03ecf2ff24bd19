-- The embedded queue's tables (queue/embedded): lanes, leased work items and
-- dead letters, in the data dir's one file. Files made before this migration
-- already hold them in this shape (the queue created them itself), hence
-- IF NOT EXISTS: they are adopted with their items.
CREATE TABLE IF NOT EXISTS queue_lanes (name TEXT PRIMARY KEY);

CREATE TABLE IF NOT EXISTS queue_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  lane TEXT NOT NULL,
  message_id TEXT NOT NULL,
  body TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  available_at INTEGER NOT NULL,
  leased_until INTEGER NOT NULL DEFAULT 0,
  delivery_count INTEGER NOT NULL DEFAULT 0,
  UNIQUE (lane, message_id)
);
CREATE INDEX IF NOT EXISTS queue_items_ready ON queue_items (lane, priority DESC, id);

CREATE TABLE IF NOT EXISTS queue_dead (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  lane TEXT NOT NULL,
  message_id TEXT NOT NULL,
  body TEXT NOT NULL,
  reason TEXT NOT NULL,
  dead_at INTEGER NOT NULL
);
