//! `cargo run`: the local stack. `cargo run -- provision`: create the table and user pool on
//! an AWS endpoint (`AWS_ENDPOINT_URL` for an emulator) from template.yaml.

use local::{Backend, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shop::lambda::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("provision") => provision().await,
        Some(other) => {
            anyhow::bail!("unknown command {other}: use `serve` (the default) or `provision`")
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let running = local::spawn(config.clone()).await?;
    let url = &running.url;
    println!("Shop is running at {url}");
    println!("  API docs:  {url}/docs   (OpenAPI: {url}/openapi.json)");
    match (&config.backend, &running.generated_admin_password) {
        (_, Some(password)) => {
            println!("  Admin:     {} / {password}   (generated now and shown once)", config.admin_email)
        }
        (_, None) if config.admin_password.is_some() => {
            println!("  Admin:     {} / (SHOP_ADMIN_PASSWORD)", config.admin_email)
        }
        (_, None) => println!("  Admin:     {} (password as shown at first start)", config.admin_email),
    }
    match config.backend {
        Backend::Embedded => println!("  Data:      {}", config.data_dir.display()),
        Backend::Aws => println!("  Backend:   AWS (table {})", std::env::var("TABLE_NAME").unwrap_or_default()),
    }
    println!(
        "Log in: curl -s {url}/api/auth/login -H 'content-type: application/json' -d '{{\"email\":\"{}\",\"password\":\"...\"}}'",
        config.admin_email
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => println!("stopping"),
        _ = running.task => {}
    }
    Ok(())
}

async fn provision() -> anyhow::Result<()> {
    let aws = shop::aws::load().await;
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "shop".into());
    let made = local::provision::all(&aws, &table, "shop-local").await?;
    println!(
        "export TABLE_NAME={} USER_POOL_ID={} USER_POOL_CLIENT_ID={} SHOP_BACKEND=aws",
        made.table_name, made.user_pool_id, made.client_id
    );
    Ok(())
}
