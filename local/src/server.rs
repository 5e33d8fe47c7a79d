//! Serving a built stack on its address.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use shop::consumers::Ports;
use shop::table::Table;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::stack::build;
use crate::{gateway, iam};

/// A running stack (for tests and benchmarks): its address and the task serving it.
pub struct Running {
    pub addr: SocketAddr,
    pub url: String,
    pub stack_routes: Vec<gateway::Route>,
    pub generated_admin_password: Option<String>,
    pub table: Arc<dyn Table>,
    /// Ends only when the stack cannot go on (with the cause); aborting it stops every part.
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Binds `config.addr` (port 0 picks a free one), builds the stack and serves it.
pub async fn spawn(config: Config) -> anyhow::Result<Running> {
    if !config.addr.ip().to_canonical().is_loopback() {
        anyhow::ensure!(
            config.allow_remote,
            "SHOP_ADDR={} would serve the local stack beyond this machine: anyone who reaches it could \
             create accounts and read its data. Set SHOP_ALLOW_REMOTE=true if that is meant.",
            config.addr
        );
        tracing::warn!(
            addr = %config.addr,
            "SHOP_ALLOW_REMOTE=true: the local stack's API answers other machines (its mailbox, \
             payment simulator and metrics still answer this machine only)"
        );
    }
    let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let stack = build(&config, &url).await?;
    let app = stack.router.into_make_service_with_connect_info::<SocketAddr>();
    // What AWS runs on a schedule: the expiry job (EventBridge) and the TTL sweep (DynamoDB).
    // Each with the table as its function's role reaches it in AWS (`iam`).
    let job = expiry::Expiry::new(iam::scoped(&stack.table, "expiry")?, stack.payments.clone(), config.windows);
    let (every, sweep) = (config.expiry_every, stack.sweep);
    let poster: Arc<dyn shop::partners::Poster> =
        Arc::new(shop_webhooks::WebhookSender::new(config.webhooks_allow_loopback)?);
    let partners = shop::partners::PartnerDeliveries::new(iam::scoped(&stack.table, "webhooks")?, poster.clone());
    let recovery =
        shop::recovery::CartRecovery::new(iam::scoped(&stack.table, "recovery")?, config.recovery, format!("{url}/"));
    let ports = Ports {
        table: stack.table.clone(),
        payments: stack.payments.clone(),
        senders: Some(stack.senders),
        search: Some(stack.search),
        poster: Some(poster),
        storefront: Some(format!("{url}/")),
    };
    let consumers = shop::consumers::CONSUMERS
        .iter()
        .map(|c| (c.build)(&Ports { table: iam::scoped(&stack.table, c.function)?, ..ports.clone() }))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let events = stack.events.run(consumers);
    let schedule = async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            if let Err(e) = job.run().await {
                tracing::error!(error = %e, "the expiry job failed; it runs again at the next tick");
            }
            if let Err(e) = partners.retry_due(shop::time::Timestamp::now(), 200).await {
                tracing::error!(error = %e, "retrying partners' deliveries failed; it runs again at the next tick");
            }
            if let Err(e) = recovery.sweep(shop::time::Timestamp::now(), 500).await {
                tracing::error!(error = %e, "reminding of idle carts failed; it runs again at the next tick");
            }
            if let Some(table) = &sweep
                && let Err(e) = table.purge_expired().await
            {
                tracing::error!(error = %e, "sweeping expired items failed; it runs again at the next tick");
            }
        }
    };
    // Each part runs on its own task and is meant to run for ever: one that ends means the
    // stack cannot go on, and the whole stack ends with its cause.
    let task = tokio::spawn(async move {
        let mut parts = tokio::task::JoinSet::new();
        parts.spawn(async move {
            axum::serve(listener, app).await.context("serving HTTP")?;
            anyhow::bail!("the HTTP server stopped")
        });
        parts.spawn(async move {
            schedule.await;
            anyhow::bail!("the schedule stopped")
        });
        parts.spawn(async move {
            events.await;
            anyhow::bail!("the event workers stopped")
        });
        match parts.join_next().await {
            Some(Ok(ended)) => ended,
            Some(Err(e)) => Err(anyhow::anyhow!("a part of the stack failed: {e}")),
            None => Ok(()),
        }
    });
    Ok(Running {
        addr,
        url,
        stack_routes: stack.routes,
        generated_admin_password: stack.generated_admin_password,
        table: stack.table,
        task,
    })
}
