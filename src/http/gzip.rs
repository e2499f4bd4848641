//! Gzip for large SCIM answers, to clients that accept it (RFC 9110 §8.4.1.3, §12.5.3). Okta
//! asks with `Accept-Encoding: gzip,deflate`, and its "Import Now" reads the whole directory
//! in pages of 100 users: about 84 KB of JSON each, 9 KB gzipped.

use super::media::weighted;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::web::Bytes;
use flate2::{Compress, CompressError, Compression, FlushCompress, Status};
use std::cell::RefCell;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Answers shorter than this go as they are: a user, a short page, a group without many
/// members, an error. TCP sends that much in its first flight (RFC 6928: ten segments), so
/// gzip would save the client no round trip, and it costs a compressor's set-up, which is
/// most of its cost on a short answer (5–7 µs for 1 to 4 KB, 52–59 µs for a page of 100 users:
/// `examples/gzip_cost.rs`, BENCHMARKS.md, the fifty-fourth round). At 1 KiB, a user with a
/// few groups was gzipped on every GET, and a GET by id cost a third more CPU.
pub const FROM_BYTES: usize = 14 * 1024;

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

/// Compresses `res`'s body when it is not already coded, is either whole and at least
/// `FROM_BYTES` long or streamed (scimd streams only answers too large to build whole), and
/// the request's `Accept-Encoding` takes gzip (read only then: a short answer never asks).
/// Every such answer says `Vary: Accept-Encoding` (RFC 9110 §12.5.5), compressed or not, so a
/// cache keeps the two apart. The weak ETags scimd sends hold for both codings (RFC 9110
/// §8.8.1).
pub fn large_answers<B: MessageBody + 'static>(res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    let large = match res.response().body().size() {
        BodySize::Sized(n) => n >= FROM_BYTES as u64,
        BodySize::Stream => true,
        BodySize::None => false,
    };
    if !large || res.headers().contains_key(header::CONTENT_ENCODING) {
        return res.map_into_left_body();
    }
    let accepted = accepted(res.request().headers());
    res.map_body(|head, body| {
        head.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
        if !accepted {
            return EitherBody::left(body);
        }
        let coded = match body.try_into_bytes() {
            Ok(whole) => match gzip(&whole) {
                Some(coded) => BoxBody::new(Bytes::from(coded)),
                None => return EitherBody::right(BoxBody::new(whole)),
            },
            Err(streamed) => BoxBody::new(GzipStream { inner: streamed.boxed(), compressor: None, finished: false }),
        };
        head.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        EitherBody::right(coded)
    })
}

thread_local! {
    /// One compressor per thread for whole answers, reset between them: its state is a few
    /// hundred KB, which each answer would otherwise allocate and set up again.
    static COMPRESSOR: RefCell<Compress> = RefCell::new(new_compressor());
}

/// Level 1 makes a page of users about a ninth of its size, at a fraction of its rendering's
/// cost (BENCHMARKS.md, the fifty-fourth round).
fn new_compressor() -> Compress {
    Compress::new_gzip(Compression::fast(), 15)
}

/// `input` as one gzip member (RFC 1952); None if the compressor fails, which it does not
/// for any input it can allocate for.
pub fn gzip(input: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with_borrow_mut(|compressor| {
        compressor.reset();
        let mut out = Vec::with_capacity(input.len() / 8 + 64);
        deflate(compressor, input, FlushCompress::Finish, &mut out).ok().map(|()| out)
    })
}

/// Feeds all of `input` to `compressor`, appending what it gives to `out` (grown as needed);
/// with `Finish`, until the member's trailer is written.
fn deflate(
    compressor: &mut Compress,
    input: &[u8],
    flush: FlushCompress,
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    let start = compressor.total_in();
    loop {
        let read = (compressor.total_in() - start) as usize;
        let status = compressor.compress_vec(&input[read..], out, flush)?;
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => (compressor.total_in() - start) as usize == input.len() && out.len() < out.capacity(),
        };
        if done {
            return Ok(());
        }
        out.reserve(out.capacity().max(4096));
    }
}

/// A streamed answer gzipped as its chunks come, by a compressor of its own (set up at its
/// first chunk): a 100,000-member group is never whole in memory, coded or not.
struct GzipStream {
    inner: BoxBody,
    compressor: Option<Compress>,
    finished: bool,
}

impl MessageBody for GzipStream {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = &mut *self;
        while !this.finished {
            let (input, flush) = match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
                Some(Ok(chunk)) => (chunk, FlushCompress::None),
                Some(Err(e)) => {
                    // A trailer after it would make a cut body look whole.
                    this.finished = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => (Bytes::new(), FlushCompress::Finish),
            };
            this.finished = matches!(flush, FlushCompress::Finish);
            let compressor = this.compressor.get_or_insert_with(new_compressor);
            let mut out = Vec::with_capacity(input.len() / 8 + 64);
            if let Err(e) = deflate(compressor, &input, flush, &mut out) {
                this.finished = true;
                return Poll::Ready(Some(Err(Box::new(e))));
            }
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(Bytes::from(out))));
            }
        }
        Poll::Ready(None)
    }
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

    fn streamed(chunks: Vec<Result<Bytes, std::io::Error>>) -> GzipStream {
        let inner = actix_web::body::BodyStream::new(futures_util::stream::iter(chunks));
        GzipStream { inner: BoxBody::new(inner), compressor: None, finished: false }
    }

    #[actix_web::test]
    async fn a_stream_is_one_gzip_member_of_all_its_chunks() {
        let page = br#"{"value":"2819c223-7f76-453a-919d-413861904646","display":"Babs"},"#.repeat(3000);
        let chunks: Vec<Result<Bytes, std::io::Error>> = [&page[..70_000], b"", &page[70_000..70_001], &page[70_001..]]
            .iter()
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let coded = actix_web::body::to_bytes(streamed(chunks)).await.expect("no error");
        assert_eq!(gunzip(&coded), page);
        assert!(coded.len() < page.len() / 20);
        let empty = actix_web::body::to_bytes(streamed(Vec::new())).await.expect("no error");
        assert_eq!(gunzip(&empty), b"");
    }

    #[actix_web::test]
    async fn a_stream_that_fails_ends_with_the_failure() {
        let failed = std::io::Error::other("the database went away");
        let mut body = streamed(vec![Ok(Bytes::from_static(b"{}")), Err(failed)]);
        let mut seen = Vec::new();
        while let Some(item) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await {
            seen.push(item.map_err(|e| e.to_string()));
        }
        assert_eq!(seen.last().and_then(|r| r.as_ref().err()).map(String::as_str), Some("the database went away"));
        assert!(seen[..seen.len() - 1].iter().all(Result::is_ok), "{seen:?}");
    }
}
