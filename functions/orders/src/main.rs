//! The orders service on AWS Lambda.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_http(|| {
        let aws = shop_aws::lambda_config()?;
        shop_secrets::signing_key_from_env(&aws)?;
        let var = |name: &str| std::env::var(name).ok();
        let limits = shop::orders::Limits::from_lookup(var)?;
        let policy = shop::returns::ReturnPolicy::from_lookup(var)?;
        let state = orders::OrdersState::new(shop_dynamodb::table(&aws)?).with_limits(limits);
        Ok(orders::router(state.with_return_policy(policy)))
    })
    .await
}
