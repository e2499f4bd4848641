//! A group's members as a response writes them (RFC 7643 §4.2): read a page at a time, and
//! written as JSON text straight from the member rows, with the sub-attributes the request's
//! projection keeps (RFC 7644 §3.9).

use super::projection::{Keep, Projection};
use super::resource::ResourceSchema;
use super::service::ScimService;
use crate::error::{Error, Result};
use crate::store::{FirstMembers, MemberKind, MemberView, TenantId};
use serde::Serialize;
use serde_json::json;

/// Which of a member's sub-attributes a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFields {
    pub value: bool,
    pub reference: bool,
    pub kind: bool,
    pub display: bool,
}

impl MemberFields {
    pub const ALL: MemberFields = MemberFields { value: true, reference: true, kind: true, display: true };

    /// What `projection` keeps of `members`; `None` when it leaves them out.
    pub fn of(schema: &ResourceSchema<'_>, projection: &Projection) -> Option<MemberFields> {
        match projection.keep(schema, "members") {
            Keep::Drop => None,
            Keep::Whole => Some(MemberFields::ALL),
            Keep::Part => {
                // The projection's own cut, made on a member that has every sub-attribute.
                let mut probe = json!([{"value": "", "$ref": "", "type": "", "display": ""}]);
                if !projection.reshape("members", &mut probe) {
                    return None;
                }
                let kept = |name: &str| probe[0].get(name).is_some();
                Some(MemberFields {
                    value: kept("value"),
                    reference: kept("$ref"),
                    kind: kept("type"),
                    display: kept("display"),
                })
            }
        }
    }
}

#[derive(Serialize)]
struct MemberJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(rename = "$ref", skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

/// `members` as the comma-separated JSON text of an array's elements, and how many there are.
/// Written straight from the rows: a `Value` per member (a map of four entries) was about a
/// sixth of the CPU of a GET of a 100,000-member group. A member with nothing to write (only
/// `display` asked for, and it has none) is left out rather than written as `{}`, as
/// RFC 7643 §2.5 treats an empty value as unassigned.
pub fn members_json(members: &[MemberView], base_url: &str, fields: MemberFields) -> Result<(String, usize)> {
    let mut out = Vec::with_capacity(members.len() * (base_url.len() + 120));
    let only_display = !(fields.value || fields.reference || fields.kind);
    let mut written = 0;
    for m in members {
        if only_display && m.display.is_none() {
            continue;
        }
        if written > 0 {
            out.push(b',');
        }
        written += 1;
        let endpoint = match m.kind {
            MemberKind::User => "/Users/",
            MemberKind::Group => "/Groups/",
        };
        let member = MemberJson {
            value: fields.value.then_some(m.id.as_str()),
            reference: fields.reference.then(|| [base_url, endpoint, &m.id].concat()),
            kind: fields.kind.then_some(m.kind.as_str()),
            display: m.display.as_deref().filter(|_| fields.display),
        };
        serde_json::to_writer(&mut out, &member).map_err(Error::internal)?;
    }
    Ok((String::from_utf8(out).map_err(Error::internal)?, written))
}

/// One page of a group's members and where the next starts.
pub struct MemberPage {
    /// How many elements its JSON holds.
    pub elements: usize,
    /// Their JSON, comma-separated (`members_json`).
    pub json: String,
    pub next: Option<(MemberKind, i64)>,
}

impl MemberPage {
    /// `members` as a page; a `full` one may have more after it.
    pub(super) fn of(members: &[MemberView], base_url: &str, fields: MemberFields, full: bool) -> Result<MemberPage> {
        let next = if full { members.last().map(|m| (m.kind, m.pk)) } else { None };
        let (json, elements) = members_json(members, base_url, fields)?;
        Ok(MemberPage { elements, json, next })
    }
}

impl ScimService {
    /// A page of a group's members after `after`.
    pub fn member_page(
        &self,
        tenant: TenantId,
        base_url: &str,
        group_pk: i64,
        after: (MemberKind, i64),
        fields: MemberFields,
    ) -> Result<MemberPage> {
        let limit = self.member_page_size;
        let rows = self.store.members_page(tenant, group_pk, Some(after), limit)?;
        MemberPage::of(&rows, base_url, fields, rows.len() == limit)
    }

    /// The pages of what `first_members` read for `group_pks`: as many groups as one read of a
    /// page's worth of members covers, at least the first, so that a page of 100 groups listed
    /// with their members is one read, not 100. Every page is its group's whole membership
    /// but a first one the limit cut.
    pub(super) fn member_pages_of(
        &self,
        read: FirstMembers,
        group_pks: &[i64],
        base_url: &str,
        fields: MemberFields,
    ) -> Result<Vec<MemberPage>> {
        let full = read.members.len() == self.member_page_size;
        if read.groups == 1 {
            // One group (a GET, a write's answer, a run of one): its page as read, not regrouped.
            let members: Vec<MemberView> = read.members.into_iter().map(|(_, m)| m).collect();
            return Ok(vec![MemberPage::of(&members, base_url, fields, full)?]);
        }
        let mut members = read.members.into_iter().peekable();
        let mut pages = Vec::new();
        for &pk in &group_pks[..read.groups] {
            let mut mine = Vec::new();
            while let Some((_, m)) = members.next_if(|(group, _)| *group == pk) {
                mine.push(m);
            }
            // The limit cut the read in this group: the groups after it were not read. Its
            // page is left out unless it is the first, so that the group is read again from
            // its start, in a snapshot with its version (`later_member_pages`), rather than
            // continued past the cut by a read of its own: only a group with more members
            // than a page is sent in pages read at different moments.
            let cut = full && !mine.is_empty() && members.peek().is_none();
            if cut && !pages.is_empty() {
                break;
            }
            pages.push(MemberPage::of(&mine, base_url, fields, cut)?);
            if cut {
                break;
            }
        }
        Ok(pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;
    use serde_json::Value;

    fn view(kind: MemberKind, id: &str, display: Option<&str>) -> MemberView {
        MemberView { kind, pk: 1, id: id.into(), display: display.map(str::to_string) }
    }

    #[test]
    fn members_are_written_as_the_elements_of_an_array() {
        let members =
            [view(MemberKind::User, "u-1", Some("Ann \"the\" Admin\n")), view(MemberKind::Group, "g-1", None)];
        let (text, elements) = members_json(&members, "https://h/scim/v2/acme", MemberFields::ALL).unwrap();
        assert_eq!(elements, 2);
        let parsed: Value = serde_json::from_str(&format!("[{text}]")).unwrap();
        assert_eq!(
            parsed,
            json!([
                {"value": "u-1", "$ref": "https://h/scim/v2/acme/Users/u-1", "type": "User", "display": "Ann \"the\" Admin\n"},
                {"value": "g-1", "$ref": "https://h/scim/v2/acme/Groups/g-1", "type": "Group"},
            ])
        );
        assert!(text.starts_with(r#"{"value":"u-1","$ref":"#), "members keep their key order: {text}");
        assert_eq!(members_json(&[], "https://h", MemberFields::ALL).unwrap(), (String::new(), 0));
        // Only `display` asked for: a member without one has nothing to write.
        let display = MemberFields { value: false, reference: false, kind: false, display: true };
        let (text, elements) =
            members_json(&[members[1].clone(), members[0].clone(), members[1].clone()], "https://h", display).unwrap();
        assert_eq!((text.as_str(), elements), (r#"{"display":"Ann \"the\" Admin\n"}"#, 1));
    }

    #[test]
    fn a_projection_picks_the_sub_attributes_written() {
        let registry = Registry::load();
        let schema = super::super::group::group_schema(&registry);
        let member = [view(MemberKind::User, "u-1", Some("Ann"))];
        let cases = [
            (None, None, Some(r#"{"value":"u-1","$ref":"https://h/Users/u-1","type":"User","display":"Ann"}"#)),
            (Some("members.value"), None, Some(r#"{"value":"u-1"}"#)),
            (Some("MEMBERS.Value"), None, Some(r#"{"value":"u-1"}"#)),
            (Some("urn:ietf:params:scim:schemas:core:2.0:Group:members.value"), None, Some(r#"{"value":"u-1"}"#)),
            (Some("members.value,members.display"), None, Some(r#"{"value":"u-1","display":"Ann"}"#)),
            (
                Some("displayName,members"),
                None,
                Some(r#"{"value":"u-1","$ref":"https://h/Users/u-1","type":"User","display":"Ann"}"#),
            ),
            (None, Some("members.$ref,members.type"), Some(r#"{"value":"u-1","display":"Ann"}"#)),
            (Some("displayName"), None, None),
            (None, Some("members"), None),
        ];
        for (attributes, excluded, want) in cases {
            let projection = Projection::parse(&schema, attributes, excluded);
            let got = MemberFields::of(&schema, &projection)
                .map(|fields| members_json(&member, "https://h", fields).unwrap().0);
            assert_eq!(got.as_deref(), want, "attributes={attributes:?} excludedAttributes={excluded:?}");
        }
    }
}
