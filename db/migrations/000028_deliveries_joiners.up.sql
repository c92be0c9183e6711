-- The waiting jobs that could join a claimed job's request (same service,
-- family and address: the claim's joinersDue) found by one index probe per
-- claimed address, not by reading every waiting job of the service: with
-- 30,000 waiting, each claim read them all and deliveries slowed to a few
-- per second.
CREATE INDEX deliveries_joiners ON deliveries (service_id, family, address, next_attempt_at) WHERE state = 'pending';
