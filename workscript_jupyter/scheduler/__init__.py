"""Scheduling: cron triggers, the leader lock, and the scheduler that claims each tick once."""
