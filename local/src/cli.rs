//! The `local` command line, also run by the tests that kill and restart the stack.

use anyhow::Context;

use crate::{Backend, Config};

/// The command line: `serve` (the default), `provision`, `dead-letters`, `reindex`, `migrate`,
/// `import`, `export`. A failure is one
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
        Some("import") => import(args.get(1)).await,
        Some("export") => export(args.get(1)).await,
        Some(other) => {
            anyhow::bail!(
                "unknown command {other}: use `serve` (the default), `provision`, `dead-letters`, `reindex`, \
                 `migrate`, `import <file.csv>` or `export [file.csv]`"
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

/// A progress bar on stderr: `done` of `total` `what`.
fn progress_bar(done: u64, total: u64, what: &str) {
    use std::io::Write;
    const WIDTH: u64 = 40;
    let filled = (done * WIDTH).checked_div(total.max(1)).unwrap_or(0).min(WIDTH) as usize;
    eprint!("\r[{}{}] {done}/{total} {what}", "#".repeat(filled), " ".repeat(WIDTH as usize - filled));
    let _ = std::io::stderr().flush();
}

/// Imports a CSV of products into the stack's table (the format `export` writes), showing its
/// progress; lists the lines it refused and why.
async fn import(file: Option<&String>) -> anyhow::Result<()> {
    let file = file.context("import needs the file: cargo run -- import products.csv")?;
    let csv = std::fs::read(file).with_context(|| format!("reading {file}"))?;
    let imports = shop::imports::Imports::new(table(&Config::from_env()?).await?);
    let status = imports.apply(&csv, &|s| progress_bar(s.rows_done, s.rows_total, "rows")).await?;
    eprintln!();
    if let Some(error) = &status.error {
        anyhow::bail!("{file}: {error}");
    }
    for refused in &status.refused {
        println!("line {}: {}", refused.line, refused.reason);
    }
    println!(
        "{} rows: {} products created, {} updated, {} rows refused",
        status.rows_total, status.products_created, status.products_updated, status.rows_refused
    );
    Ok(())
}

/// Writes the catalogue as CSV to `file`, or to stdout.
async fn export(file: Option<&String>) -> anyhow::Result<()> {
    use futures::TryStreamExt;
    let catalog = shop::catalog::Catalog::new(table(&Config::from_env()?).await?);
    let total: i64 = catalog.categories().await?.iter().map(|c| c.product_count).sum();
    let mut products = Vec::new();
    let mut pages = std::pin::pin!(catalog.pages(100));
    while let Some(page) = pages.try_next().await? {
        products.extend(page);
        progress_bar(products.len() as u64, total.max(0) as u64, "products");
    }
    eprintln!();
    let csv = shop::imports::export(&products)?;
    match file {
        Some(file) => std::fs::write(file, csv).with_context(|| format!("writing {file}"))?,
        None => std::io::Write::write_all(&mut std::io::stdout(), &csv)?,
    }
    Ok(())
}

/// Rebuilds the search index from the catalogue (the stack's configuration says which table and
/// which engine), showing its progress; searches keep the old index until the new one is whole.
async fn reindex() -> anyhow::Result<()> {
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
    let progress = |done: usize| progress_bar(done as u64, total.max(0) as u64, "products");
    let indexed = shop::search::reindex(&catalog, &*index, &progress).await?;
    eprintln!();
    println!("The search index holds {indexed} products.");
    Ok(())
}
