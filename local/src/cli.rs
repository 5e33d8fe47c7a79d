//! The `local` command line, also run by the tests that kill and restart the stack.

use anyhow::Context;

use crate::{Backend, Config};

/// The command line: `serve` (the default), `provision`, `dead-letters`, `reindex`, `migrate`. A failure is one
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
        Some("reindex") => reindex().await,
        Some("migrate") => migrate().await,
        Some(other) => {
            anyhow::bail!(
                "unknown command {other}: use `serve` (the default), `provision`, `dead-letters`, `reindex` or `migrate`"
            )
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

/// The table the stack's configuration names: the data folder's, or DynamoDB's.
async fn table(config: &Config) -> anyhow::Result<std::sync::Arc<dyn shop::table::Table>> {
    Ok(match config.backend {
        Backend::Embedded => {
            std::sync::Arc::new(shop_embedded::sqlite::SqliteTable::open(&config.data_dir.join("shop.db"))?)
        }
        Backend::Aws => shop_dynamodb::table_named(&config.aws.sdk_config().await, config.aws.table()?),
    })
}

/// Runs the migrations the table has not had yet (the stack runs them as it starts; a
/// deployed stack's table gets them from here, `SHOP_BACKEND=aws` and its `TABLE_NAME`).
async fn migrate() -> anyhow::Result<()> {
    let ran = shop::migrations::run(table(&Config::from_env()?).await?).await?;
    if ran.is_empty() {
        println!("The table has had every migration.");
    }
    for (migration, moved) in ran {
        println!("{migration}: {moved} items moved");
    }
    Ok(())
}

/// Rebuilds the search index from the catalogue (the stack's configuration says which table and
/// which engine), showing its progress; searches keep the old index until the new one is whole.
async fn reindex() -> anyhow::Result<()> {
    use std::io::Write;
    use std::sync::Arc;

    use shop::catalog::Catalog;
    use shop::search::SearchIndex;

    let config = Config::from_env()?;
    let table = table(&config).await?;
    let index: Arc<dyn SearchIndex> = match &config.opensearch {
        Some(opensearch) => {
            let credentials = config.aws.sdk_config().await.credentials_provider();
            Arc::new(shop_opensearch::OpenSearch::new(opensearch.clone(), credentials)?)
        }
        None => {
            let root = config.data_dir.join("search");
            let (index, _) = shop_tantivy::TantivyIndex::open(&root).with_context(|| {
                format!("opening {} (a running local stack holds it: stop it first)", root.display())
            })?;
            Arc::new(index)
        }
    };
    let catalog = Catalog::new(table);
    let total: i64 = catalog.categories().await?.iter().map(|c| c.product_count).sum();
    let progress = |done: usize| {
        const WIDTH: usize = 40;
        let filled = (done * WIDTH).checked_div(total.max(1) as usize).unwrap_or(0).min(WIDTH);
        eprint!("\r[{}{}] {done}/{total} products", "#".repeat(filled), " ".repeat(WIDTH - filled));
        let _ = std::io::stderr().flush();
    };
    let indexed = shop::search::reindex(&catalog, &*index, &progress).await?;
    eprintln!();
    println!("The search index holds {indexed} products.");
    Ok(())
}
