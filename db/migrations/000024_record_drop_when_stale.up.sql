-- A record whose name other hosts feed too can leave that name while its
-- host is stale: the dispatcher then leaves its address out of the name's
-- RRset (api/store/deliveries.go, jobColumns) until the host reports again.
ALTER TABLE records ADD COLUMN drop_when_stale boolean NOT NULL DEFAULT false;
