//! The response media type (RFC 7644 §3.8): `application/scim+json` unless the client's
//! `Accept` asks for `application/json` ahead of it, which a service provider SHOULD honour
//! (OneLogin's documentation wants `application/json` answers). The body is the same.

use super::error::SCIM_CONTENT_TYPE;
use actix_web::http::header::{self, HeaderMap, HeaderValue};

/// Whether `Accept` prefers `application/json` to `application/scim+json`: it lists the first
/// with a higher quality than the second, or the first alone. Wildcards choose nothing, so
/// `*/*` keeps the default.
pub fn wants_plain_json(headers: &HeaderMap) -> bool {
    let (mut json, mut scim) = (None::<f32>, None::<f32>);
    for (media, q) in weighted(headers, header::ACCEPT) {
        let slot = if media.eq_ignore_ascii_case("application/json") {
            &mut json
        } else if media.eq_ignore_ascii_case(SCIM_CONTENT_TYPE) {
            &mut scim
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |s| s.max(q)));
    }
    match (json, scim) {
        (Some(j), None) => j > 0.0,
        (Some(j), Some(s)) => j > s,
        _ => false,
    }
}

/// The items of a weighted list (`Accept`, `Accept-Encoding`): each one's first part (a media
/// range, a coding) and its weight. RFC 9110 §12.4.2: `q` is a weight from 0 to 1, 1 when
/// absent (and here when unreadable); 0 means "not this".
pub fn weighted(headers: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = (&str, f32)> {
    headers.get_all(name).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).filter_map(|item| {
        let mut parts = item.split(';');
        let first = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        (!first.is_empty()).then_some((first, q))
    })
}

/// Relabels a SCIM answer as `application/json`.
pub fn relabel_as_plain_json(headers: &mut HeaderMap) {
    let is_scim =
        headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(SCIM_CONTENT_TYPE.as_bytes()));
    if is_scim {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_chooses_the_media_type() {
        let cases = [
            (None, false),
            (Some("application/scim+json"), false),
            (Some("application/json"), true),
            (Some("Application/JSON; charset=utf-8"), true),
            (Some("application/json, application/scim+json"), false),
            (Some("application/json;q=0.5, application/scim+json;q=0.9"), false),
            (Some("application/json;q=1, application/scim+json;q=0.5"), true),
            (Some("application/json;q=0"), false),
            (Some("*/*"), false),
            (Some("application/json, */*;q=0.8"), true),
            (Some("text/html"), false),
            (Some("application/json;q=oops"), true),
        ];
        for (accept, want) in cases {
            let mut headers = HeaderMap::new();
            if let Some(a) = accept {
                headers.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
            }
            assert_eq!(wants_plain_json(&headers), want, "{accept:?}");
        }
    }

    #[test]
    fn only_scim_answers_are_relabelled() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
        relabel_as_plain_json(&mut headers);
        assert_eq!(headers.get(header::CONTENT_TYPE).unwrap(), "application/json");
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        relabel_as_plain_json(&mut headers);
        assert_eq!(headers.get(header::CONTENT_TYPE).unwrap(), "text/plain");
    }
}
