DROP INDEX IF EXISTS sla_clocks_first_response;
