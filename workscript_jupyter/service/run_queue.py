"""``RunQueue``: where the runs this process creates go.

With ``run_workers`` on, a new run is claimed by this server in the very insert that creates it
(``claimed_by``) and handed to its pool; with it off, the run is inserted unclaimed and left to a
``QueueWorker`` (``workscript worker`` or another server, worker.py). Runs, automations and
recovery all create runs: this is the one place that decides which of the two happens.
"""

from __future__ import annotations

from ..engine import Workflow
from ..store.records import Automation, ExecutionRecord
from .pool import Job, RunPool
from .values import Caller

__all__ = ["RunQueue"]


class RunQueue:
    """This server's claim on its new runs, and its pool."""

    def __init__(self, pool: RunPool, server_id: str, *, run_workers: bool = True) -> None:
        self.pool = pool
        self.server_id = server_id
        # False: runs are queued unclaimed for `workscript worker` processes (worker.py)
        self.run_workers = run_workers

    @property
    def claimed_by(self) -> str | None:
        """What a new run's ``claimed_by`` is: this server, or nobody (a worker takes it)."""
        return self.server_id if self.run_workers else None

    def submit(self, job: Job) -> None:
        """Into this server's pool, when it runs its own runs."""
        if self.run_workers:
            self.pool.submit(job)

    def submit_automation_run(
        self,
        caller: Caller,
        automation: Automation,
        record: ExecutionRecord,
        *,
        serial: bool = False,
        workflow: Workflow | None = None,
    ) -> None:
        """An automation's stored run, into this server's pool; ``queue`` (or ``serial``,
        unless ``allow``) runs the automation's runs one at a time, in order."""
        if not self.run_workers:
            return  # queued unclaimed: a worker process takes it
        policy = automation.overlap_policy
        one_by_one = policy == "queue" or (serial and policy != "allow")
        serial_key = automation.id if one_by_one else None
        workflow_id = record.workflow_id or str(record.trigger_data["definition"].get("id", ""))
        job = Job(record.id, caller, workflow_id, serial_key=serial_key, record=record)
        job.automation_id, job.workflow = automation.id, workflow
        self.pool.submit(job)
