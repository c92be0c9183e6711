-- keep_other_addresses: the broker replaces only the address it last
-- delivered for the record and leaves the name's other addresses of the
-- family (a second WAN, another site) alone, where the provider's API
-- edits single records.
ALTER TABLE records ADD COLUMN keep_other_addresses boolean NOT NULL DEFAULT false;

-- advice: what the user can do about an attempt's outcome, in plain words,
-- from the provider's table of answers; empty when there is nothing to do.
ALTER TABLE record_states ADD COLUMN advice text NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN advice text NOT NULL DEFAULT '';
