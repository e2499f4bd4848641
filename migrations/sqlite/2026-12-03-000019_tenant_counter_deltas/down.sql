DROP TABLE tenant_counter_deltas;
