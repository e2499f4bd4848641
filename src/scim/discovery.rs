//! Discovery (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes and /Schemas, built from
//! the same schema registry that validates requests, and from the settings in force, so they
//! state exactly what this server does.

use super::list::PageLimits;
use super::schema::{Registry, SchemaDef, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{json, Value};

pub const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// RFC 7643 §5.
pub fn service_provider_config(base_url: &str, limits: PageLimits) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": limits.max_count},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token issued by scimd for this tenant, sent as 'Authorization: Bearer <token>'",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }, {
            "type": "httpbasic",
            "name": "HTTP Basic",
            "description": "A username and password issued by scimd for this tenant",
            "specUri": "https://www.rfc-editor.org/info/rfc7617",
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base_url}/ServiceProviderConfig")},
    })
}

/// RFC 7643 §6: the resource types served under the Base URL.
pub fn resource_types(base_url: &str) -> Vec<Value> {
    vec![
        json!({
        "schemas": [RESOURCE_TYPE],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/User")},
        }),
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/Group")},
        }),
    ]
}

fn schema_resource(def: &SchemaDef, base_url: &str) -> Value {
    let mut v = serde_json::to_value(def).expect("schema definitions serialise");
    v["schemas"] = json!([SCHEMA]);
    v["meta"] = json!({"resourceType": "Schema", "location": format!("{base_url}/Schemas/{}", def.id)});
    v
}

/// RFC 7643 §7: the schemas of the resource types served.
pub fn schemas(registry: &Registry, base_url: &str) -> Vec<Value> {
    [&registry.user, &registry.enterprise_user, &registry.group]
        .into_iter()
        .map(|d| schema_resource(d, base_url))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_describes_what_is_served() {
        let registry = Registry::load();
        let all = schemas(&registry, "https://x/scim/v2/t");
        let ids: Vec<&str> = all.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]);
        let user = &all[0];
        assert_eq!(user["meta"]["location"], format!("https://x/scim/v2/t/Schemas/{USER_SCHEMA}"));
        let user_name = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!((user_name["uniqueness"].as_str(), user_name["required"].as_bool()), (Some("server"), Some(true)));
        let spc = service_provider_config("https://x/scim/v2/t", PageLimits { default_count: 100, max_count: 500 });
        assert_eq!(spc["filter"]["maxResults"], 500);
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(resource_types("b")[0]["schemaExtensions"][0]["schema"], ENTERPRISE_USER_SCHEMA);
    }
}
