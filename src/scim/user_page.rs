//! A page of users written out as it is sent (RFC 7644 §3.4.2; also the users of a search at
//! the Base URL root, §3.4.3): its rows are read in one snapshot, and each is rendered when the
//! answer reaches it and then dropped, so a page holds its users' stored JSON once rather than
//! three times (the rows, each user rendered, the whole answer).

use super::list;
use super::projection::Projection;
use super::service::ScimService;
use crate::error::Result;
use crate::store::{UserGroup, UserRow};

/// What a page writes before its answer starts. A page that fits (a page of 100 Okta-like
/// users is about 150 KB) is sent whole, with its length, and a row that cannot be rendered
/// is an error answer rather than a cut body.
pub const FIRST_BYTES: usize = 1 << 20;

/// What a page writes at a time after its first part.
pub const LATER_BYTES: usize = 64 * 1024;

pub struct UserPage {
    rows: std::vec::IntoIter<UserRow>,
    /// The groups of the page's users (`groups`, RFC 7643 §4.1.2), by `user_pk`.
    groups: Vec<UserGroup>,
    projection: Projection,
    base_url: String,
    /// The ListResponse's head and the rows that fit in `FIRST_BYTES`.
    first: String,
    /// Written after the last row: `]}`, or nothing when more resources follow the users.
    closing: &'static str,
    /// Whether `closing` is written: nothing is left.
    closed: bool,
    /// The users the page lists.
    count: usize,
}

impl UserPage {
    /// The page's first part (`FIRST_BYTES`), once.
    pub fn take_first(&mut self) -> String {
        std::mem::take(&mut self.first)
    }

    /// Whether the page is written to its end.
    pub fn is_done(&self) -> bool {
        self.closed
    }

    /// How many users the page lists.
    pub fn users_listed(&self) -> usize {
        self.count
    }

    /// Appends the next rows to `out` until it holds `bytes` or the page ends.
    pub fn write(&mut self, service: &ScimService, out: &mut String, bytes: usize) -> Result<()> {
        while !self.closed && out.len() < bytes {
            // A comma goes before every row but the page's first.
            let first = self.rows.len() == self.count;
            let Some(row) = self.rows.next() else {
                out.push_str(self.closing);
                self.closed = true;
                break;
            };
            let user = service.render_listed(&row, &self.groups, &self.base_url, &self.projection)?;
            if !first {
                out.push(',');
            }
            out.push_str(&user.body);
        }
        Ok(())
    }
}

impl ScimService {
    /// The ListResponse of `rows` (of `total` matches, from `start_index`) with its first
    /// part written.
    pub(super) fn user_page(
        &self,
        total: u64,
        start_index: u64,
        rows: Vec<UserRow>,
        groups: Vec<UserGroup>,
        base_url: &str,
        projection: Projection,
    ) -> Result<UserPage> {
        let head = list::list_prefix(total, start_index, rows.len());
        self.page_of(head, "]}", rows, groups, base_url, projection)
    }

    /// The users of a root search, which its groups follow in `Resources`: no head, no
    /// closing; their first part written.
    pub(super) fn users_before_groups(
        &self,
        rows: Vec<UserRow>,
        groups: Vec<UserGroup>,
        base_url: &str,
        projection: Projection,
    ) -> Result<UserPage> {
        self.page_of(String::new(), "", rows, groups, base_url, projection)
    }

    fn page_of(
        &self,
        mut first: String,
        closing: &'static str,
        rows: Vec<UserRow>,
        groups: Vec<UserGroup>,
        base_url: &str,
        projection: Projection,
    ) -> Result<UserPage> {
        // Each user's JSON is about as long as its stored JSON plus its id and meta.
        let estimate = rows.iter().map(|r| r.data.len() + 320).sum::<usize>();
        // The row that crosses `FIRST_BYTES` is written whole: room for one more of the largest.
        first.reserve(estimate.min(FIRST_BYTES + 2 * LATER_BYTES));
        let mut page = UserPage {
            count: rows.len(),
            rows: rows.into_iter(),
            groups,
            projection,
            base_url: base_url.to_owned(),
            first: String::new(),
            closing,
            closed: false,
        };
        page.write(self, &mut first, FIRST_BYTES)?;
        page.first = first;
        Ok(page)
    }
}
