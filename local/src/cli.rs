//! The `local` command line, also run by the tests that kill and restart the stack.

use anyhow::Context;

use crate::{Backend, Config};

/// The command line: `serve` (the default), `provision`, `dead-letters`. A failure is one
/// line on stderr (with its causes) and exit status 1.
pub async fn run() -> std::process::ExitCode {
    match main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn main() -> anyhow::Result<()> {
    shop_aws::lambda::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("provision") => provision().await,
        Some("dead-letters") => dead_letters(&args[1..]).await,
        Some(other) => {
            anyhow::bail!("unknown command {other}: use `serve` (the default), `provision` or `dead-letters`")
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let running = crate::spawn(config.clone()).await?;
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
        Backend::Aws => println!("  Backend:   AWS (table {})", config.aws.table_name.as_deref().unwrap_or_default()),
    }
    println!(
        "Log in: curl -s {url}/api/auth/login -H 'content-type: application/json' -d '{{\"email\":\"{}\",\"password\":\"...\"}}'",
        config.admin_email
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            println!("stopping");
            Ok(())
        }
        ended = running.task => ended.context("the stack")?,
    }
}

async fn provision() -> anyhow::Result<()> {
    let aws = shop_aws::load().await;
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "shop".into());
    let made = crate::provision::all(&aws, &table, "shop-local").await?;
    println!(
        "export TABLE_NAME={} USER_POOL_ID={} USER_POOL_CLIENT_ID={} TOPIC_ARN={} SHOP_BACKEND=aws",
        made.table_name, made.user_pool_id, made.client_id, made.topic_arn
    );
    Ok(())
}

async fn dead_letters(args: &[String]) -> anyhow::Result<()> {
    use crate::dead_letters::{Action, run};
    let (action, queue) = match args.first().map(String::as_str) {
        None | Some("list") => (Action::List, args.get(1)),
        Some("redrive") => (Action::Redrive, args.get(1)),
        Some(other) => anyhow::bail!("dead-letters {other}: use `list` or `redrive`, then a queue name or nothing"),
    };
    let (letters, moved) = run(&Config::from_env()?, action, queue.map(String::as_str)).await?;
    match action {
        Action::List if letters.is_empty() => println!("no dead letters"),
        Action::List => {
            for l in letters {
                let error = l.error.unwrap_or_default();
                println!("{}\t{}\t{}\treceives={}\t{error}", l.queue, l.event_id, l.kind, l.receives);
            }
        }
        Action::Redrive => println!("{moved} dead letters sent back to their queues"),
    }
    Ok(())
}
