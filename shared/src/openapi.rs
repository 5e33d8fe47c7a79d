//! Pieces of the OpenAPI 3.1 document every service shares: the Cognito bearer scheme and
//! the problem schema. Each service derives its paths from its handlers; the local stack
//! merges them and serves the result at `/openapi.json`.

use utoipa::openapi::path::{HttpMethod, Operation, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The name of the security scheme on every route that needs a signed-in user.
pub const BEARER: &str = "cognito";

/// The name of the security scheme of the guest routes: the guest's token in `Guest-Token`.
pub const GUEST: &str = "guest";

/// An `If-Match` value as RFC 9110 writes it: `*`, or entity tags (`"x"`, `W/"x"`) separated
/// by commas; empty counts as no header. The API document gives this pattern to the header.
pub const IF_MATCH_PATTERN: &str = r#"^(\*|(W/)?"[^"]*"( *, *(W/)?"[^"]*")*)?$"#;

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
                .security_scheme(
                    GUEST,
                    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                        "Guest-Token",
                        "A guest's token (POST /api/guest/tokens), or the token of the link in a guest's order email",
                    ))),
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

/// The staff roles an operation admits: those its bearer requirement names
/// (`security(("cognito" = ["catalogue"]))`). None for a route any signed-in caller may call.
pub fn roles(operation: &Operation) -> Vec<crate::domain::Role> {
    let requirements = operation.security.iter().flatten();
    let named = requirements.filter_map(|r| serde_json::to_value(r).ok()).filter_map(|v| v.get(BEARER).cloned());
    named.flat_map(|v| serde_json::from_value::<Vec<crate::domain::Role>>(v).unwrap_or_default()).collect()
}

/// The path of a route's guest twin: `/api/cart` is `/api/guest/cart`.
pub fn guest_path(path: &str) -> String {
    path.replacen("/api/", "/api/guest/", 1)
}

fn operation<'a>(item: &'a mut PathItem, method: &HttpMethod) -> &'a mut Option<Operation> {
    match method {
        HttpMethod::Get => &mut item.get,
        HttpMethod::Post => &mut item.post,
        HttpMethod::Put => &mut item.put,
        HttpMethod::Delete => &mut item.delete,
        HttpMethod::Patch => &mut item.patch,
        HttpMethod::Head => &mut item.head,
        HttpMethod::Options => &mut item.options,
        HttpMethod::Trace => &mut item.trace,
    }
}

/// Documents the guest twin of the documented handler `P` ([`guest_path`]): the same operation
/// under the guest scheme in place of the bearer one.
pub fn guest_twin<P: utoipa::Path>(doc: &mut OpenApi) {
    let path = P::path();
    for method in P::methods() {
        let signed_in = doc.paths.paths.get_mut(&path).and_then(|item| operation(item, &method).clone());
        let Some(mut twin) = signed_in else { continue };
        twin.operation_id = twin.operation_id.map(|id| format!("{id}_as_guest"));
        twin.security = Some(vec![SecurityRequirement::new(GUEST, Vec::<String>::new())]);
        let twin_item = doc.paths.paths.entry(guest_path(&path)).or_default();
        *operation(twin_item, &method) = Some(twin);
    }
}

/// Whether an operation takes a guest's token (carries the guest scheme).
pub fn takes_guest(operation: &Operation) -> bool {
    operation
        .security
        .as_ref()
        .is_some_and(|reqs| reqs.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v.get(GUEST).is_some())))
}

/// The content type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Documents on every operation what the shared conventions can answer, so that no handler
/// has to list them and none can forget one: 429 (the gateway's throttle) everywhere; 400 for a
/// malformed query or body; 413, 415 and 422 where a JSON body is read; 401 where a caller is
/// needed; 404 where the path names a resource. Every problem answer, these and the handlers'
/// own, is `application/problem+json` with the problem schema.
pub fn document_conventions(doc: &mut OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let queries = operation.parameters.iter().flatten().any(|p| {
                p.parameter_in == ParameterIn::Query || ["If-Match", "Idempotency-Key"].contains(&p.name.as_str())
            });
            let body = operation.request_body.is_some();
            let mut problems = vec![("429", "Too many requests from this client; retry after `Retry-After` seconds")];
            if queries || body {
                problems.push(("400", "The query, a header or the body cannot be read"));
            }
            if body {
                problems.push(("413", "The body is larger than the limit"));
                problems.push(("415", "The body is not `application/json`"));
                problems.push(("422", "Refused fields, each named in `errors`"));
            }
            if needs_caller(operation) {
                problems.push(("401", "No valid ID token, or one of an erased account"));
            }
            let mut admitted = roles(operation);
            if !admitted.is_empty() {
                // Admins may call every route: the document says so wherever roles are named.
                admitted.push(crate::domain::Role::Admin);
                admitted.sort();
                admitted.dedup();
                let names: Vec<&str> = admitted.iter().map(|r| r.as_str()).collect();
                operation.security = Some(vec![SecurityRequirement::new(BEARER, names.clone())]);
                problems.push(("403", "The caller holds none of the roles the route admits"));
                let note = format!("Staff roles: {}.", names.join(", "));
                operation.description = Some(match operation.description.take() {
                    Some(text) => format!("{text}\n\n{note}"),
                    None => note,
                });
            }
            if takes_guest(operation) {
                problems.push(("401", "No valid guest token"));
            }
            if path.contains('{') {
                problems.push(("404", "No such resource, or one the caller may not see"));
            }
            for parameter in operation.parameters.iter_mut().flatten() {
                let pattern = match parameter.name.as_str() {
                    "If-Match" => IF_MATCH_PATTERN,
                    "Idempotency-Key" => "^ *[!-~]{1,255} *$",
                    _ => continue,
                };
                let schema = ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).pattern(Some(pattern));
                parameter.schema = Some(schema.into());
            }
            let paged = operation.parameters.iter().flatten().any(|p| p.name == "cursor");
            let responses = &mut operation.responses.responses;
            if paged && let Some(utoipa::openapi::RefOr::T(ok)) = responses.get_mut("200") {
                let link = utoipa::openapi::HeaderBuilder::new()
                    .schema(String::schema())
                    .description(Some("`<?...&cursor=...>; rel=\"next\"` when there is a next page"))
                    .build();
                ok.headers.insert("Link".into(), link);
            }
            for (status, description) in problems {
                responses.entry(status.to_owned()).or_insert_with(|| problem(description).into());
            }
            for response in responses.values_mut() {
                if let utoipa::openapi::RefOr::T(response) = response
                    && let Some(content) = response.content.shift_remove("application/json")
                {
                    if is_problem(&content) {
                        response.content.insert(PROBLEM_JSON.to_owned(), content);
                    } else {
                        response.content.insert("application/json".to_owned(), content);
                    }
                }
            }
        }
    }
}

fn problem(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let schema = Ref::from_schema_name(crate::error::Problem::name());
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(schema)).build())
        .build()
}

fn is_problem(content: &utoipa::openapi::Content) -> bool {
    matches!(&content.schema, Some(utoipa::openapi::RefOr::Ref(r)) if r.ref_location.ends_with(&format!("/{}", crate::error::Problem::name())))
}
