//! Pieces of the OpenAPI 3.1 document every service shares: the Cognito bearer scheme and
//! the problem schema. Each service derives its paths from its handlers; the local stack
//! merges them and serves the result at `/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The name of the security scheme on every route that needs a signed-in user.
pub const BEARER: &str = "cognito";

/// A document with the shop's info, security scheme and problem schema, and no paths yet.
pub fn base() -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Shop API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "A serverless shop. Send `Authorization: Bearer <id token>` (from POST /api/auth/login) \
                     on routes marked with the cognito scheme. Errors are RFC 9457 problem documents.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    BEARER,
                    SecurityScheme::Http(
                        HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
                    ),
                )
                .schema(crate::error::Problem::name(), crate::error::Problem::schema())
                .schema(crate::error::FieldError::name(), crate::error::FieldError::schema())
                .build(),
        ))
        .build()
}

/// Adds the shared components to a derived document.
pub struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut OpenApi) {
        let base = base();
        openapi.info = base.info;
        let components = openapi.components.get_or_insert_with(Default::default);
        if let Some(extra) = base.components {
            components.security_schemes.extend(extra.security_schemes);
            components.schemas.extend(extra.schemas);
        }
    }
}

/// Whether an operation needs a signed-in caller (carries the bearer scheme).
pub fn needs_caller(operation: &utoipa::openapi::path::Operation) -> bool {
    operation
        .security
        .as_ref()
        .is_some_and(|reqs| reqs.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v.get(BEARER).is_some())))
}
