//! The baseline of the cold-start benchmark: a hello-world Lambda on lambda_runtime, built with
//! the same release profile as the functions. It echoes its event.

use lambda_http::lambda_runtime::{self, Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(event.payload) },
    ))
    .await
}
