-- Only the paced sender lists its sent messages (seed 001), newest first: the
-- index of sent rows covers its lane alone, so the outcome of every other
-- recipient (a campaign's 50,000 e-mails) writes one index entry fewer.
CREATE INDEX message_recipients_paced_sent ON message_recipients (sent_at, id)
  WHERE status = 'sent' AND lane = 'paced';
DROP INDEX message_recipients_sent_in_lane;
