//! Background jobs: each queue's consumer is a [`Job`] (its queue and how to handle one
//! message); the same jobs run in `idv serve`'s loops ([`run`]) and behind the SQS-triggered
//! functions ([`handle`]). A new job is one type implementing [`Job`], registered beside the
//! others; the core's own is [`Callbacks`]. [`sweeps`] is `idv serve`'s retention timer.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
pub use crate::messages::Next;
use crate::messages::{self, CALLBACKS_QUEUE};
use crate::services::Services;

/// The consumer of one queue.
#[async_trait::async_trait]
pub trait Job: Send + Sync {
    /// The queue it consumes.
    fn queue(&self) -> &'static str;

    /// Whether this process runs it (e.g. certification only with a signer).
    fn enabled(&self, _s: &Services) -> bool {
        true
    }

    /// Handles one message (received `attempt` times). An error leaves it on the queue: it
    /// comes back after its visibility timeout, then goes to the dead-letter queue.
    async fn handle(&self, s: &Services, body: &str, attempt: u32) -> Result<Next, Error>;

    /// Deliveries at once, in all and per tenant (the tenant read from a message), for a job
    /// whose messages may each wait on a slow receiver; `None`: one message after another.
    fn parallel(&self) -> Option<Parallel> {
        None
    }
}

/// See [`Job::parallel`].
#[derive(Clone, Copy)]
pub struct Parallel {
    pub in_flight: usize,
    pub per_tenant: usize,
    pub tenant: fn(&str) -> Option<String>,
}

/// Callback deliveries ([`crate::callbacks::deliver`]).
pub struct Callbacks;

#[async_trait::async_trait]
impl Job for Callbacks {
    fn queue(&self) -> &'static str {
        CALLBACKS_QUEUE
    }

    async fn handle(&self, s: &Services, body: &str, _attempt: u32) -> Result<Next, Error> {
        crate::callbacks::deliver(s.records.as_ref(), s.queue.as_ref(), &s.config, body).await
    }

    fn parallel(&self) -> Option<Parallel> {
        Some(Parallel {
            in_flight: CALLBACKS_IN_FLIGHT,
            per_tenant: CALLBACKS_PER_TENANT,
            tenant: |body| {
                messages::decode::<messages::Callback>(CALLBACKS_QUEUE, body).map(|c| c.tenant)
            },
        })
    }
}

/// The retention timer of `idv serve`: a sweep every `every`, from one period after the start
/// (on AWS a scheduled function runs each sweep).
pub async fn sweeps(state: Services, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        match crate::retention::sweep(&state, idv_store::now_ms()).await {
            Ok(r) if r.images_purged + r.erased + r.expired > 0 => tracing::info!(
                images_purged = r.images_purged,
                erased = r.erased,
                expired = r.expired,
                "retention sweep"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                code = e.code.as_str(),
                "retention sweep failed; retried next period"
            ),
        }
    }
}

/// Handles one message of `queue` with its job among `jobs`: what the SQS-triggered
/// functions run.
pub async fn handle(
    s: &Services,
    jobs: &[Arc<dyn Job>],
    queue: &str,
    body: &str,
    attempt: u32,
) -> Result<Next, Error> {
    match jobs.iter().find(|j| j.queue() == queue) {
        Some(j) => j.handle(s, body, attempt).await,
        None => Err(Error::internal(format!("no consumer for queue {queue}"))),
    }
}

/// Seconds a received message stays invisible to other consumers while it is handled.
const VISIBILITY: u64 = 120;

/// Runs every enabled job of `jobs` in a loop of its own. When `stop` turns true, each takes
/// no new message, finishes the ones it holds, and returns; then this returns.
pub async fn run(s: Services, jobs: Vec<Arc<dyn Job>>, stop: tokio::sync::watch::Receiver<bool>) {
    let loops: Vec<_> = jobs
        .into_iter()
        .filter(|j| j.enabled(&s))
        .map(|j| match j.parallel() {
            Some(p) => tokio::spawn(parallel_worker(s.clone(), j, p, stop.clone())),
            None => tokio::spawn(worker(s.clone(), j, stop.clone())),
        })
        .collect();
    for l in loops {
        let _ = l.await;
    }
}

/// Callback deliveries the local worker runs at once, in all and per tenant: a tenant whose
/// receiver hangs holds at most [`CALLBACKS_PER_TENANT`] of them, each for one attempt's
/// deadline, and the others' callbacks go past.
pub const CALLBACKS_IN_FLIGHT: usize = 32;
/// See [`CALLBACKS_IN_FLIGHT`].
pub const CALLBACKS_PER_TENANT: usize = 4;

/// A parallel job's loop: each message handled in a task of its own, at most `p.in_flight` at
/// once; a message of a tenant that already has `p.per_tenant` running goes back to the
/// queue for a second, uncounted.
async fn parallel_worker(
    state: Services,
    job: Arc<dyn Job>,
    p: Parallel,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let queue = job.queue();
    // The global slot is taken before a message is received; the admission then only holds
    // each tenant to its share.
    let slots = Arc::new(tokio::sync::Semaphore::new(p.in_flight));
    let shares = crate::limits::Admission::new(p.in_flight, 0, p.per_tenant);
    loop {
        state.beats.beat(queue);
        if *stop.borrow() {
            // Wait for the deliveries running (each bounded by its attempt deadline).
            let _ = slots.acquire_many(p.in_flight as u32).await;
            return;
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let messages = match state
            .queue
            .receive(queue, 1, Duration::from_secs(60), Duration::from_secs(5))
            .await
        {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(queue, error = %e, "queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(m) = messages.into_iter().next() else {
            continue;
        };
        let tenant = (p.tenant)(&m.body).unwrap_or_default();
        let Ok(share) = shares.enter(Some(&tenant)) else {
            if let Err(e) = state
                .queue
                .release(queue, &m.receipt, Duration::from_secs(1))
                .await
            {
                tracing::error!(queue, error = %e, "returning a message to the queue failed");
            }
            continue;
        };
        let (state, job) = (state.clone(), job.clone());
        tokio::spawn(async move {
            settle(&state, job.as_ref(), &m).await;
            drop((share, slot));
        });
    }
}

/// Processes one received message and acknowledges it, schedules its retry, or leaves it to
/// come back after its visibility timeout.
async fn settle(state: &Services, job: &dyn Job, m: &idv_store::Message) {
    let queue = job.queue();
    match job.handle(state, &m.body, m.receive_count).await {
        Ok(Next::Done) => {
            if let Err(e) = state.queue.delete(queue, &m.receipt).await {
                tracing::error!(queue, error = %e, "acknowledgement failed");
            }
        }
        Ok(Next::RetryIn(delay)) => {
            if let Err(e) = state.queue.retry_after(queue, &m.receipt, delay).await {
                tracing::error!(queue, error = %e, "scheduling a retry failed");
            }
        }
        Err(e) => {
            tracing::error!(queue, error = %e.message, code = %e.code, attempt = m.receive_count, "message failed; will retry")
        }
    }
}

/// One queue's loop: receive, process, acknowledge, until `stop` turns true (what it received
/// is processed first). A message whose processing fails stays on the queue and comes back
/// after [`VISIBILITY`] seconds, then goes to the dead-letter queue.
async fn worker(state: Services, job: Arc<dyn Job>, stop: tokio::sync::watch::Receiver<bool>) {
    let queue = job.queue();
    loop {
        state.beats.beat(queue);
        if *stop.borrow() {
            return;
        }
        let messages = match state
            .queue
            .receive(
                queue,
                2,
                Duration::from_secs(VISIBILITY),
                Duration::from_secs(5),
            )
            .await
        {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(queue, error = %e, "queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for m in messages {
            settle(&state, job.as_ref(), &m).await;
        }
    }
}
