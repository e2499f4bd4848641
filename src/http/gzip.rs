//! Gzip for large SCIM answers, to clients that accept it (RFC 9110 §8.4.1.3, §12.5.3). Okta
//! asks with `Accept-Encoding: gzip,deflate`, and its "Import Now" reads the whole directory
//! in pages of 100 users: about 84 KB of JSON each, 7 KB gzipped.

use super::media::weighted;
use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::web::Bytes;
use flate2::{Compress, Compression, FlushCompress, Status};
use std::cell::RefCell;

/// Answers shorter than this go as they are: a user, a group without many members, an error.
/// Their gzip would save less than a packet and cost a compressor's set-up.
pub const FROM_BYTES: usize = 1024;

/// Whether the client's `Accept-Encoding` takes gzip (or `x-gzip`, RFC 9110 §8.4.1.3), named
/// or through `*`, with a weight above zero and not below one it gives `identity`. A coding
/// named twice counts at its lower weight, so a refusal holds. Without the header, nothing is
/// compressed: a client that sends none may not decode any coding.
pub fn accepted(headers: &HeaderMap) -> bool {
    let (mut gzip, mut any, mut identity) = (None::<f32>, None::<f32>, None::<f32>);
    for (coding, q) in weighted(headers, header::ACCEPT_ENCODING) {
        let slot = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding == "*" {
            &mut any
        } else if coding.eq_ignore_ascii_case("identity") {
            &mut identity
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |s| s.min(q)));
    }
    let gzip = gzip.or(any).unwrap_or(0.0);
    gzip > 0.0 && gzip >= identity.unwrap_or(0.0)
}

/// Compresses `res`'s body when the client takes gzip and the body is whole, at least
/// `FROM_BYTES` long and not already coded. Every answer that long says `Vary:
/// Accept-Encoding` (RFC 9110 §12.5.5), compressed or not, so a cache keeps the two apart.
/// The weak ETags scimd sends hold for both codings (RFC 9110 §8.8.1).
pub fn large_answers<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
    accepted: bool,
) -> ServiceResponse<EitherBody<B, Bytes>> {
    res.map_body(|head, body| {
        let long = matches!(body.size(), BodySize::Sized(n) if n >= FROM_BYTES as u64);
        if !long || head.headers.contains_key(header::CONTENT_ENCODING) {
            return EitherBody::left(body);
        }
        head.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
        if !accepted {
            return EitherBody::left(body);
        }
        let bytes = match body.try_into_bytes() {
            Ok(bytes) => bytes,
            Err(streamed) => return EitherBody::left(streamed),
        };
        match gzip(&bytes) {
            Some(coded) => {
                head.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                EitherBody::right(Bytes::from(coded))
            }
            None => EitherBody::right(bytes),
        }
    })
}

thread_local! {
    /// One compressor per thread, reset between answers: its state is a few hundred KB,
    /// which each answer would otherwise allocate and set up again.
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new_gzip(Compression::fast(), 15));
}

/// `input` as one gzip member (RFC 1952); None if the compressor fails, which it does not
/// for any input it can allocate for.
pub fn gzip(input: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with_borrow_mut(|compressor| {
        compressor.reset();
        // Level 1 makes a page of users about a twelfth of its size; the output grows if not.
        let mut out = Vec::with_capacity(input.len() / 8 + 64);
        loop {
            let read = compressor.total_in() as usize;
            match compressor.compress_vec(&input[read..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return Some(out),
                Ok(_) => out.reserve(out.capacity().max(4096)),
                Err(_) => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn accept_encoding_decides_gzip() {
        let cases = [
            (None, false),
            (Some("gzip"), true),
            (Some("gzip,deflate"), true),
            (Some("GZIP, br"), true),
            (Some("x-gzip"), true),
            (Some("deflate, br"), false),
            (Some("*"), true),
            (Some("*;q=0"), false),
            (Some("gzip;q=0"), false),
            (Some("gzip;q=0, *"), false),
            (Some("gzip;q=0.000"), false),
            (Some("gzip;q=0.001"), true),
            (Some("gzip, gzip;q=0"), false),
            (Some("identity"), false),
            (Some("identity;q=1, gzip;q=0.5"), false),
            (Some("identity;q=0.5, gzip"), true),
            (Some("gzip;q=1, identity;q=1"), true),
            (Some("identity;q=0"), false),
            (Some(""), false),
            (Some(" , ,gzip ; q=0.8 "), true),
            (Some("gzip;q=oops"), true),
        ];
        for (value, want) in cases {
            let mut headers = HeaderMap::new();
            if let Some(v) = value {
                headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            }
            assert_eq!(accepted(&headers), want, "{value:?}");
        }
    }

    #[test]
    fn accept_encoding_over_several_lines() {
        let mut headers = HeaderMap::new();
        headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(accepted(&headers));
        headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip;q=0"));
        assert!(!accepted(&headers));
    }

    fn gunzip(coded: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(coded).read_to_end(&mut out).expect("a gzip member");
        out
    }

    #[test]
    fn gzip_round_trips_whatever_came_before_on_the_thread() {
        let page = br#"{"userName":"user000490@bench.example.com","active":true}"#.repeat(2000);
        let noise: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for input in [&page[..], &noise[..], b"", b"x", &page[..100]] {
            let coded = gzip(input).expect("compressed");
            assert_eq!(&coded[..2], &[0x1f, 0x8b], "a gzip header");
            assert_eq!(gunzip(&coded), input);
        }
        assert!(gzip(&page).unwrap().len() < page.len() / 20);
    }
}
