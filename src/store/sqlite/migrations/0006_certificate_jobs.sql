-- An event's lane carries what rendering its certificates needs (the run's
-- templates, sender and output folder, as JSON), so that herald worker
-- processes elsewhere can deliver the lane; empty when only the run that
-- queued it delivers (an embedded queue).
ALTER TABLE certificate_lanes ADD COLUMN job TEXT NOT NULL DEFAULT '';
