"""The worker's tasks (procrastinate; found by its Django app's autodiscovery of `tasks` modules).

Run them with `make worker` (`manage.py procrastinate worker`), or compose's `worker` service. Queues:
"webhooks" (deliveries) and "periodic" (the overdue check, the stalled-job check, the tallies' fold, the
clean-up).
"""

from __future__ import annotations

from django.conf import settings
from procrastinate import JobContext, RetryStrategy, builtin_tasks
from procrastinate.contrib.django import app

from claims import events, models, webhooks


# A delivery's own failures (a status, a timeout) are retried by the job it defers (claims.webhooks); this
# strategy is for the unexpected (the database gone mid-way): a few tries, 10 s to about 3 hours apart.
@app.task(
    name=webhooks.DELIVER_TASK,
    queue=webhooks.QUEUE,
    pass_context=True,
    retry=RetryStrategy(max_attempts=4, exponential_wait=10),
)
def deliver_webhook(context: JobContext, *, delivery_id: int, replay: bool = False) -> str:
    """One attempt of a webhook delivery (claims.webhooks.deliver)."""
    assert context.job.id is not None
    return webhooks.deliver(delivery_id, job_id=context.job.id, replay=replay)


# Every quarter of an hour: a claim becomes overdue at the site's midnight (its due date passed), so its
# event is out within 15 minutes of it in any time zone (all are whole quarter hours from UTC).
# record_overdue emits one event per claim and due date however often it runs; its events get their
# webhook deliveries like any other (claims.events._insert).
@app.periodic(cron="*/15 * * * *", periodic_id="overdue")
@app.task(name="claims.record_overdue", queue="periodic", queueing_lock="claims.record_overdue")
def record_overdue(timestamp: int) -> int:
    """Emit the events of the claims that have become overdue; returns how many."""
    return len(events.record_overdue())


# Every minute: the claim tallies' deltas that the writers' own folds skipped (another fold held the lock)
# are folded into a row per key, so the home page's and speakers' counts stay a row per status. A few
# milliseconds: it reads a row per key and rewrites only the keys with deltas (claims.models.fold_tallies).
@app.periodic(cron="* * * * *", periodic_id="fold_tallies")
@app.task(name="claims.fold_tallies", queue="periodic", queueing_lock="claims.fold_tallies")
def fold_tallies(timestamp: int) -> bool:
    """Fold the claim tallies' deltas (claims.models.fold_tallies); False if another fold was running."""
    return models.fold_tallies()


# A sixth cron field is seconds: the check runs once per stall timeout (every 30 s by default), so a dead
# worker's jobs run again within two timeouts of its last heartbeat.
_STALLED_EVERY = max(1, min(59, settings.WORKER_STALLED_SECONDS))


@app.periodic(cron=f"* * * * * */{_STALLED_EVERY}", periodic_id="stalled")
@app.task(
    name="claims.retry_stalled_jobs",
    queue="periodic",
    queueing_lock="claims.retry_stalled_jobs",
    pass_context=True,
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> int:
    """Put back the running jobs of workers that stopped sending heartbeats (killed, lost): a delivery
    cut off mid-request is sent again. Returns how many jobs were retried."""
    job_manager = context.app.job_manager
    stalled = await job_manager.get_stalled_jobs(seconds_since_heartbeat=settings.WORKER_STALLED_SECONDS)
    for job in stalled:
        await job_manager.retry_job(job)
    return len(stalled)


@app.periodic(cron="17 3 * * *", periodic_id="remove_old_jobs")
@app.task(
    name="claims.remove_old_jobs", queue="periodic", queueing_lock="claims.remove_old_jobs", pass_context=True
)
async def remove_old_jobs(context: JobContext, timestamp: int) -> None:
    """Delete the periodic checks' finished jobs after a day (the stalled-job check makes thousands a day)
    and the deliveries' after a week. The deliveries' own log is WebhookDelivery and WebhookAttempt, which
    stay."""
    for queue, hours in (("periodic", 24), (webhooks.QUEUE, 7 * 24)):
        await builtin_tasks.remove_old_jobs(
            context,
            max_hours=hours,
            queue=queue,
            remove_failed=True,
            remove_cancelled=True,
            remove_aborted=True,
        )
