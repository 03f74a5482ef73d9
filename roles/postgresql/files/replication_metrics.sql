-- The replication state in Prometheus's text format, one metric a line.
-- Run by onlywave-postgresql-metrics.service as postgres (psql -XAtq).
SELECT 'onlywave_postgresql_in_recovery ' || pg_is_in_recovery()::int;
-- A replica: 1 while its WAL receiver streams from the primary.
SELECT 'onlywave_postgresql_wal_receiver_streaming '
       || (SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming');
-- A replica: how far replay is behind, in seconds since the last replayed
-- transaction (0 when everything received is replayed) and in bytes.
SELECT 'onlywave_postgresql_replication_lag_seconds '
       || CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
               ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END;
SELECT 'onlywave_postgresql_replication_lag_bytes '
       || coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0);
-- The primary: its streaming replicas, and each one's replay lag in bytes.
SELECT 'onlywave_postgresql_replicas_streaming '
       || (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming');
SELECT format('onlywave_postgresql_replica_lag_bytes{application_name="%s"} %s',
              application_name, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0))
  FROM pg_stat_replication;
