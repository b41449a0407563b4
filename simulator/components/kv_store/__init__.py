"""``kind: kv_store`` — a replicated key-value store, CP (Raft) or AP (Dynamo)."""
