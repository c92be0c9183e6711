-- Several jobs can go upstream in one request (dyndns2's hostname=a,b,c, a
-- record's two families together). request_id names the job that leads a
-- running job's request (its own id when it goes alone), so that the claim
-- counts requests, not jobs, against the per-service and per-worker limits
-- (api/store/deliveries.go, claimDue). Only running jobs' values are read.
ALTER TABLE deliveries ADD COLUMN request_id bigint;
