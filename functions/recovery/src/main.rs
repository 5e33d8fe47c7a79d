//! Abandoned-cart reminders on AWS Lambda, every 15 minutes (an EventBridge schedule): the
//! carts idle long enough, each reminded of or let go ([`shop::recovery`]).

use shop::recovery::{CartRecovery, RecoveryPolicy};

/// The carts one run takes at most; the next run takes the rest.
const SWEEP: usize = 500;

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_events(
        || {
            let aws = shop_aws::lambda_config()?;
            shop_secrets::signing_key_from_env(&aws)?;
            let policy = RecoveryPolicy::from_lookup(|name| std::env::var(name).ok())?;
            Ok(CartRecovery::new(shop_dynamodb::table(&aws)?, policy, shop_aws::env("STOREFRONT_URL")?))
        },
        |recovery: CartRecovery, _schedule: serde_json::Value| async move {
            let swept = recovery.sweep(shop::time::Timestamp::now(), SWEEP).await;
            tracing::info!(swept = ?swept.as_ref().ok(), "idle carts swept");
            swept.map(|_| ()).map_err(|e| format!("sweeping idle carts: {e:#}").into())
        },
    )
    .await
}
