//! Keeping a lease while work runs: a task renews it at an interval until it
//! is dropped (however the work ends — an early return, an error, a panic)
//! or until the renewal says another process took it over.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

/// Renews a lease in the background while its holder works.
#[derive(Debug)]
pub struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
}

impl Heartbeat {
    /// Calls `renew` every `every`: `Ok(true)` keeps going, `Ok(false)` means
    /// the lease is lost (see [`Heartbeat::lost`]), an error is logged and
    /// tried again at the next beat.
    pub fn start<F, Fut>(what: &'static str, every: Duration, renew: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<bool, sea_orm::DbErr>> + Send,
    {
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match renew().await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(lease = what, "lease lost to another process");
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(err) => tracing::warn!(lease = what, error = %err, "lease renewal failed"),
                }
            }
        });
        Self { task, lost }
    }

    /// Whether a renewal found the lease taken by another process.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
