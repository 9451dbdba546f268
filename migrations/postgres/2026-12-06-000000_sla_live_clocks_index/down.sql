CREATE INDEX sla_clocks_first_response ON sla_clocks (thread_id) WHERE kind = 'first_response';
DROP INDEX sla_clocks_live;
