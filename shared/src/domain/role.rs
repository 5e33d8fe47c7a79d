//! The back office's roles: each is an identity-provider group (a Cognito group in AWS) whose
//! members may call the routes that name it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A staff role. `admin` may do everything the others may, and manage the roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, roles included.
    Admin,
    /// Products, stock, variants, images, imports and exports of the catalogue.
    Catalogue,
    /// Shipping and delivering orders, receiving returns.
    Fulfilment,
    /// Reading orders and customers, answering returns, refunds up to a set amount.
    Support,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Catalogue, Role::Fulfilment, Role::Support];

    /// The group's name, as tokens carry it in `cognito:groups`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Catalogue => "catalogue",
            Role::Fulfilment => "fulfilment",
            Role::Support => "support",
        }
    }

    /// The role a group is, if it is one.
    pub fn of_group(group: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == group)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_its_group_and_back() {
        for role in Role::ALL {
            assert_eq!(Role::of_group(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert_eq!(Role::of_group("customers"), None);
    }
}
