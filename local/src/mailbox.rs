//! The developer's view of the local mailbox (`shop_embedded::mailbox`): every email and SMS
//! the local stack sent, in full. Served only by the local stack, never deployed.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use shop_embedded::mailbox::{Delivered, Mailbox};

#[derive(Template)]
#[template(path = "mailbox.html")]
struct Page {
    messages: Vec<Delivered>,
}

/// `/_local/mailbox` (a page, newest first), `/_local/mailbox.json` (oldest first) and
/// `/_local/mailbox/{id}` (an email's HTML part as the recipient sees it).
pub fn router(mailbox: Mailbox) -> Router {
    Router::new()
        .route("/_local/mailbox", get(page))
        .route("/_local/mailbox.json", get(json))
        .route("/_local/mailbox/{id}", get(html_part))
        .with_state(mailbox)
}

fn failed(e: anyhow::Error) -> Response {
    tracing::error!(error = format!("{e:#}"), "reading the local mailbox");
    (StatusCode::INTERNAL_SERVER_ERROR, "the mailbox could not be read").into_response()
}

async fn page(State(mailbox): State<Mailbox>) -> Response {
    match mailbox.all().await {
        Ok(mut messages) => {
            messages.reverse();
            match (Page { messages }).render() {
                Ok(page) => Html(page).into_response(),
                Err(e) => failed(e.into()),
            }
        }
        Err(e) => failed(e),
    }
}

async fn json(State(mailbox): State<Mailbox>) -> Response {
    match mailbox.all().await {
        Ok(messages) => Json(messages).into_response(),
        Err(e) => failed(e),
    }
}

async fn html_part(State(mailbox): State<Mailbox>, Path(id): Path<String>) -> Response {
    let messages = match mailbox.all().await {
        Ok(messages) => messages,
        Err(e) => return failed(e),
    };
    match messages.into_iter().find(|m| m.id == id).and_then(|m| m.html) {
        // The part as rendered by the shop's templates; no script runs in it.
        Some(html) => {
            ([(header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'")], Html(html))
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such email in the local mailbox").into_response(),
    }
}
