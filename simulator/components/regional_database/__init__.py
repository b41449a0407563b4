"""``kind: regional_database`` — a primary in one region, a cross-region standby or backups, failover."""
