//! A value built at its first use, then kept for the process's life (in Lambda: the execution
//! environment's). A provider whose keys live in Secrets Manager is one: its function's cold
//! start reads no secret, and the first request that needs the provider does. A failed build
//! is tried again at the next use.

use futures::future::BoxFuture;

pub struct Deferred<T> {
    build: Box<dyn Fn() -> BoxFuture<'static, anyhow::Result<T>> + Send + Sync>,
    built: tokio::sync::OnceCell<T>,
}

impl<T> Deferred<T> {
    pub fn new<F, Fut>(build: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        Self { build: Box::new(move || Box::pin(build())), built: tokio::sync::OnceCell::new() }
    }

    /// The value, built now if this is its first use.
    pub async fn get(&self) -> anyhow::Result<&T> {
        self.built.get_or_try_init(|| (self.build)()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn built_once_at_first_use_and_again_after_a_failure() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let deferred = Deferred::new(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move { if n == 0 { anyhow::bail!("the secret is not there yet") } else { Ok(n) } }
        });
        assert_eq!(builds.load(Ordering::SeqCst), 0, "nothing built before the first use");
        assert!(deferred.get().await.is_err());
        assert_eq!(*deferred.get().await.unwrap(), 1);
        assert_eq!(*deferred.get().await.unwrap(), 1);
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }
}
