//! A value built at its first use, then kept (in Lambda: for the execution environment's life,
//! or for a maximum age). A provider whose keys live in Secrets Manager is one: its function's
//! cold start reads no secret, the first request that needs the provider does, and with a
//! maximum age a rotated secret is read again within that age. A failed build is tried again
//! at the next use; a failed rebuild keeps serving the value built before.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

type Build<T> = Box<dyn Fn() -> BoxFuture<'static, anyhow::Result<T>> + Send + Sync>;

pub struct Deferred<T> {
    build: Build<T>,
    max_age: Option<Duration>,
    built: Mutex<Option<(Arc<T>, Instant)>>,
    /// One build at a time: concurrent first uses wait for it instead of building twice.
    building: tokio::sync::Mutex<()>,
}

impl<T> Deferred<T> {
    /// Built at its first use and kept.
    pub fn new<F, Fut>(build: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        Self {
            build: Box::new(move || Box::pin(build())),
            max_age: None,
            built: Mutex::new(None),
            building: tokio::sync::Mutex::new(()),
        }
    }

    /// Built again at the first use after it is `max_age` old.
    pub fn max_age(self, max_age: Duration) -> Self {
        Self { max_age: Some(max_age), ..self }
    }

    /// The value, built now if this is its first use or it has grown too old.
    pub async fn get(&self) -> anyhow::Result<Arc<T>> {
        if let Some(fresh) = self.current(true) {
            return Ok(fresh);
        }
        let _building = self.building.lock().await;
        if let Some(fresh) = self.current(true) {
            return Ok(fresh);
        }
        match (self.build)().await {
            Ok(value) => {
                let value = Arc::new(value);
                *self.built.lock().expect("not poisoned") = Some((value.clone(), Instant::now()));
                Ok(value)
            }
            Err(e) => match self.current(false) {
                Some(stale) => {
                    tracing::warn!(error = format!("{e:#}"), "rebuilding a deferred value failed; keeping the old one");
                    Ok(stale)
                }
                None => Err(e),
            },
        }
    }

    /// What was built, if any (only if still young enough when `fresh` is asked for).
    fn current(&self, fresh: bool) -> Option<Arc<T>> {
        let built = self.built.lock().expect("not poisoned");
        let (value, at) = built.as_ref()?;
        let young = self.max_age.is_none_or(|max| at.elapsed() < max);
        (young || !fresh).then(|| value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting(fail_at: usize) -> (Arc<AtomicUsize>, Deferred<usize>) {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let deferred = Deferred::new(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move { if n == fail_at { anyhow::bail!("the secret is not there") } else { Ok(n) } }
        });
        (builds, deferred)
    }

    #[tokio::test]
    async fn built_once_at_first_use_and_again_after_a_failure() {
        let (builds, deferred) = counting(0);
        assert_eq!(builds.load(Ordering::SeqCst), 0, "nothing built before the first use");
        assert!(deferred.get().await.is_err());
        assert_eq!(*deferred.get().await.unwrap(), 1);
        assert_eq!(*deferred.get().await.unwrap(), 1);
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn rebuilt_when_too_old_and_kept_when_the_rebuild_fails() {
        let (builds, deferred) = counting(2);
        let deferred = deferred.max_age(Duration::from_secs(900));
        assert_eq!(*deferred.get().await.unwrap(), 0);
        tokio::time::advance(Duration::from_secs(899)).await;
        assert_eq!(*deferred.get().await.unwrap(), 0, "still young");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(*deferred.get().await.unwrap(), 1, "rebuilt");
        tokio::time::advance(Duration::from_secs(901)).await;
        assert_eq!(*deferred.get().await.unwrap(), 1, "the failed rebuild keeps the old value");
        assert_eq!(*deferred.get().await.unwrap(), 3, "and the next use tries again");
        assert_eq!(builds.load(Ordering::SeqCst), 4);
    }
}
