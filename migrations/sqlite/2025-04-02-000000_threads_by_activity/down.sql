DROP INDEX threads_claim_activity;
DROP INDEX threads_activity;
