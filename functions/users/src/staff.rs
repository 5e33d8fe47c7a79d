//! The back office's people: who holds which staff role, and the audit log of what they did.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shop::audit::{AuditFilter, AuditRecord};
use shop::domain::{Email, Name, Role, UserId};
use shop::http::{Json, Page, PageParams, PageQuery, Query, Staff};
use shop::{Error, Result};
use utoipa::{IntoParams, ToSchema};

use crate::UsersState;

/// A user's staff roles.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffRoles {
    #[schema(value_type = String)]
    user_id: UserId,
    roles: Vec<Role>,
}

/// The roles to give a user: exactly these (none makes them a customer only).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    /// Each role once.
    #[schema(max_items = 4, value_type = std::collections::BTreeSet<Role>)]
    roles: Vec<Role>,
}

/// A member of staff.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffMember {
    #[schema(value_type = String)]
    user_id: UserId,
    #[schema(value_type = String)]
    email: Email,
    #[schema(value_type = String)]
    name: Name,
    roles: Vec<Role>,
}

async fn account(state: &UsersState, id: &str) -> Result<UserId> {
    let id = shop::http::path_id(id, UserId::parse, "user")?;
    state.users.get(&id).await?.map(|p| p.id).ok_or(Error::NotFound("user"))
}

/// A user's staff roles (admin).
#[utoipa::path(get, path = "/api/users/{id}/roles", tag = "staff", security(("cognito" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = StaffRoles)))]
pub async fn get_roles(State(state): State<UsersState>, _: Staff, Path(id): Path<String>) -> Result<Json<StaffRoles>> {
    let user_id = account(&state, &id).await?;
    let roles = state.identity.roles(&user_id).await?;
    Ok(Json(StaffRoles { user_id, roles }))
}

/// Give a user exactly these staff roles (admin). A role taken away takes effect at once:
/// the user's sessions end and they sign in again; a role given reaches their next token.
/// An admin cannot take the admin role from themselves (409), so the shop keeps one.
#[utoipa::path(put, path = "/api/users/{id}/roles", tag = "staff", security(("cognito" = ["admin"])),
    params(("id" = String, Path)), request_body = RolesBody,
    responses((status = 200, body = StaffRoles),
              (status = 409, body = shop::error::Problem, description = "An admin's own admin role")))]
pub async fn set_roles(
    State(state): State<UsersState>,
    Staff(caller): Staff,
    Path(id): Path<String>,
    Json(body): Json<RolesBody>,
) -> Result<Json<StaffRoles>> {
    let asked = body.roles.len();
    let mut roles = body.roles;
    roles.sort();
    roles.dedup();
    if roles.len() != asked {
        return Err(Error::invalid("roles", shop::domain::Invalid::new("names a role twice")));
    }
    let user_id = account(&state, &id).await?;
    if user_id == caller.user_id && !roles.contains(&Role::Admin) {
        return Err(Error::Conflict("an admin cannot take the admin role from themselves; ask another admin".into()));
    }
    let held = state.identity.roles(&user_id).await?;
    state.identity.set_roles(&user_id, &roles).await?;
    if held.iter().any(|r| !roles.contains(r)) {
        state.revocations.end_sessions(&user_id).await?;
    }
    tracing::info!(user = %user_id, by = %caller.user_id, ?roles, "staff roles set");
    Ok(Json(StaffRoles { user_id, roles }))
}

/// Everyone holding a staff role, with their roles (admin).
#[utoipa::path(get, path = "/api/staff", tag = "staff", security(("cognito" = ["admin"])),
    responses((status = 200, body = Vec<StaffMember>)))]
pub async fn list_staff(State(state): State<UsersState>, _: Staff) -> Result<Json<Vec<StaffMember>>> {
    let mut held = std::collections::BTreeMap::<UserId, Vec<Role>>::new();
    for role in Role::ALL {
        for user in state.identity.holders(role).await? {
            held.entry(user).or_default().push(role);
        }
    }
    let mut staff = Vec::with_capacity(held.len());
    for (user_id, roles) in held {
        // An account the identity provider holds and the shop has no profile of (erased) is left out.
        if let Some(profile) = state.users.get(&user_id).await? {
            staff.push(StaffMember { user_id, email: profile.email, name: profile.name, roles });
        }
    }
    Ok(Json(staff))
}

/// Which audit records to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuditQuery {
    /// Only this member of staff's records (a user id).
    #[param(value_type = Option<UserId>)]
    actor: Option<String>,
    /// Only records of targets under this path (`/api/products/01J...`).
    #[param(pattern = "^/api/")]
    target: Option<String>,
    /// From this instant (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Before this instant (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
}

impl AuditQuery {
    fn filter(self) -> Result<AuditFilter> {
        let mut v = shop::error::Validation::default();
        let instant = |raw: &str| {
            time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                .map_err(|_| shop::domain::Invalid::new("must be an RFC 3339 instant (2026-12-01T00:00:00Z)"))
        };
        let actor = v.optional("actor", self.actor, |a| UserId::parse(&a));
        let from = v.optional("from", self.from, |f| instant(&f));
        let to = v.optional("to", self.to, |t| instant(&t));
        let target = v.optional("target", self.target, |t| match t.starts_with("/api/") {
            true => Ok(t),
            false => Err(shop::domain::Invalid::new("must be a path under /api/")),
        });
        let filter = v.finish(|| Some(AuditFilter { actor: actor?, from: from?, to: to?, target: target? }))?;
        match (filter.from, filter.to) {
            (Some(from), Some(to)) if to < from => {
                Err(Error::invalid("to", shop::domain::Invalid::new("must not be before from")))
            }
            _ => Ok(filter),
        }
    }
}

/// The audit log, newest first: every back-office write that succeeded, who made it, and its
/// target before and after, personal data left out (admin). Records are kept for the shop's
/// retention and cannot be changed or deleted. A filtered page may hold fewer records than
/// `limit` and still link to more.
#[utoipa::path(get, path = "/api/audit", tag = "staff", security(("cognito" = ["admin"])),
    params(AuditQuery, PageQuery), responses((status = 200, body = Vec<AuditRecord>),
        (status = 422, body = shop::error::Problem, description = "A filter that is not a user id, a path or an instant")))]
pub async fn audit_log(
    State(state): State<UsersState>,
    _: Staff,
    Query(query): Query<AuditQuery>,
    page: PageParams,
) -> Result<Page<AuditRecord>> {
    let filter = query.filter()?;
    let (records, next) = state.audit.list(&filter, page.limit, page.after.clone()).await?;
    page.page(records, next).await
}
