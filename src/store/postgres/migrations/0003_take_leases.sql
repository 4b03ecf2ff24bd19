-- Workers without a broker take due recipients straight from this table.
-- A take marks its rows as the taker's for a while (FOR UPDATE SKIP LOCKED,
-- then taken_by/taken_until), so that several workers take disjoint rows
-- instead of all reading the same first ones and losing the claims but one.
-- The claim (status = 'sending') stays what decides who sends.
ALTER TABLE message_recipients ADD COLUMN taken_by TEXT, ADD COLUMN taken_until BIGINT;
