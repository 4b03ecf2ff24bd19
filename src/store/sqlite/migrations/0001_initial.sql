-- The schema of herald.db as versioned migrations began: API keys, messages and
-- their recipients (the embedded work queue of the message lanes), contacts,
-- templates and campaigns, the paced sender, and the certificate job.
-- IF NOT EXISTS: a file made before versioning already holds these tables and is
-- adopted as version 1 (see migrations.cpp for the columns such a file lacks).

-- API keys (only a key's SHA-256), messages and per-recipient deliveries.
CREATE TABLE IF NOT EXISTS api_keys (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
  tier TEXT NOT NULL CHECK (tier IN ('free', 'basic', 'premium')),
  key_hash TEXT NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY,
  owner_id INTEGER NOT NULL REFERENCES api_keys(id),
  idempotency_key TEXT,
  subject TEXT NOT NULL,
  content TEXT NOT NULL,
  html TEXT NOT NULL DEFAULT '',  -- e-mail only: the HTML alternative of content
  priority INTEGER NOT NULL,
  scheduled_at INTEGER,
  created_at INTEGER NOT NULL,
  UNIQUE (owner_id, idempotency_key)
);
CREATE TABLE IF NOT EXISTS message_recipients (
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  channel TEXT NOT NULL,
  address TEXT NOT NULL,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  provider_message_id TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL,
  sent_at INTEGER
);
CREATE INDEX IF NOT EXISTS message_recipients_by_message ON message_recipients (message_id);
CREATE INDEX IF NOT EXISTS message_recipients_due
  ON message_recipients (channel, priority, due_at, id) WHERE status = 'queued';

-- Contacts, templates and campaigns. owner_id names an api_keys row and
-- message_id a messages row, without foreign keys.
CREATE TABLE IF NOT EXISTS contacts (
  id INTEGER PRIMARY KEY,
  owner_id INTEGER NOT NULL,
  phone TEXT,
  email TEXT,
  telegram_chat_id TEXT,
  first_name TEXT,
  last_name TEXT,
  location TEXT,
  preferred_product TEXT,
  attributes TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK (phone IS NOT NULL OR email IS NOT NULL OR telegram_chat_id IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS contacts_by_owner ON contacts (owner_id, id);
CREATE TABLE IF NOT EXISTS templates (
  id INTEGER PRIMARY KEY,
  owner_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  channel TEXT,
  subject TEXT NOT NULL,
  html TEXT NOT NULL,
  text TEXT NOT NULL,
  variables TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS templates_by_owner ON templates (owner_id, id);
CREATE TABLE IF NOT EXISTS campaigns (
  id INTEGER PRIMARY KEY,
  owner_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  channel TEXT NOT NULL CHECK (channel IN ('sms', 'whatsapp', 'email', 'telegram')),
  status TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'failed')),
  base_template TEXT NOT NULL,
  template_id INTEGER,
  subject TEXT NOT NULL,
  scheduled_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS campaigns_by_owner ON campaigns (owner_id, id);
CREATE INDEX IF NOT EXISTS campaigns_by_status ON campaigns (status, id);
CREATE INDEX IF NOT EXISTS campaigns_by_channel ON campaigns (channel, id);
CREATE TABLE IF NOT EXISTS campaign_messages (
  campaign_id INTEGER NOT NULL,
  contact_id INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  PRIMARY KEY (campaign_id, contact_id)
) WITHOUT ROWID;

-- The paced sender (seed 001): messages released a few at a time, and its schedule.
CREATE TABLE IF NOT EXISTS paced_messages (
  id INTEGER PRIMARY KEY,
  owner_id INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  content TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  retry_at INTEGER NOT NULL DEFAULT 0,
  provider_message_id TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  sent_at INTEGER
);
CREATE INDEX IF NOT EXISTS paced_messages_queued ON paced_messages (id) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS paced_messages_sent ON paced_messages (sent_at, id) WHERE status = 'sent';
CREATE INDEX IF NOT EXISTS paced_messages_sent_by_owner
  ON paced_messages (owner_id, sent_at, id) WHERE status = 'sent';
CREATE TABLE IF NOT EXISTS pacer_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  running INTEGER NOT NULL,
  next_release_at INTEGER,
  updated_at INTEGER NOT NULL
);

-- The certificate job: one row per (event, student), and the event lanes it made.
CREATE TABLE IF NOT EXISTS certificate_deliveries (
  id TEXT PRIMARY KEY,
  certificate_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  event_slug TEXT NOT NULL,
  student_name TEXT NOT NULL,
  email TEXT NOT NULL,
  variables_json TEXT NOT NULL,
  csv_line INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  provider_id TEXT NOT NULL DEFAULT '',
  message_id TEXT NOT NULL DEFAULT '',
  pdf_path TEXT NOT NULL DEFAULT '',
  published INTEGER NOT NULL DEFAULT 0,
  run_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS certificate_deliveries_event_status
  ON certificate_deliveries (event_slug, status);
CREATE TABLE IF NOT EXISTS certificate_lanes (
  slug TEXT PRIMARY KEY,
  event_name TEXT NOT NULL,
  queue_name TEXT NOT NULL
);
