//! The schema registry: RFC 7643 definitions loaded from `schemas/*.json`, the one source of
//! truth for validation here and for the discovery endpoints.

use serde::{Deserialize, Serialize};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
    pub multi_valued: bool,
    #[serde(default)]
    pub description: String,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_exact: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_types: Option<Vec<String>>,
    pub mutability: Mutability,
    pub returned: Returned,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniqueness: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_attributes: Option<Vec<AttributeDef>>,
}

impl AttributeDef {
    /// Attribute names are case-insensitive (RFC 7643 §2.1).
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes.as_deref()?.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn case_exact(&self) -> bool {
        self.case_exact.unwrap_or(false)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaDef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub attributes: Vec<AttributeDef>,
}

impl SchemaDef {
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// All schemas scimd knows, parsed once at start-up.
#[derive(Debug, Clone)]
pub struct Registry {
    pub user: SchemaDef,
    pub enterprise_user: SchemaDef,
    pub group: SchemaDef,
    /// RFC 7643 §3.1 common attributes (id, externalId, meta).
    pub common: SchemaDef,
}

fn parse(name: &str, text: &str) -> SchemaDef {
    // The files are compiled in; a broken one is a build defect that the unit test below catches.
    serde_json::from_str(text).unwrap_or_else(|e| panic!("schemas/{name} is not a valid schema definition: {e}"))
}

impl Registry {
    pub fn load() -> Registry {
        Registry {
            user: parse("User.json", include_str!("../../schemas/User.json")),
            enterprise_user: parse("EnterpriseUser.json", include_str!("../../schemas/EnterpriseUser.json")),
            group: parse("Group.json", include_str!("../../schemas/Group.json")),
            common: parse("common.json", include_str!("../../schemas/common.json")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_files_load_and_say_what_rfc_7643_says() {
        let r = Registry::load();
        assert_eq!(r.user.id, USER_SCHEMA);
        assert_eq!(r.enterprise_user.id, ENTERPRISE_USER_SCHEMA);
        assert_eq!(r.group.id, GROUP_SCHEMA);
        let user_name = r.user.attribute("USERNAME").unwrap();
        assert!(user_name.required && !user_name.case_exact());
        let password = r.user.attribute("password").unwrap();
        assert_eq!((password.mutability, password.returned), (Mutability::WriteOnly, Returned::Never));
        let emails = r.user.attribute("emails").unwrap();
        assert!(emails.multi_valued && emails.ty == AttrType::Complex);
        assert_eq!(emails.sub_attribute("Primary").unwrap().ty, AttrType::Boolean);
        assert_eq!(r.user.attribute("groups").unwrap().mutability, Mutability::ReadOnly);
        assert!(r.common.attribute("externalId").unwrap().case_exact());
        assert_eq!(r.enterprise_user.attribute("manager").unwrap().ty, AttrType::Complex);
    }
}
