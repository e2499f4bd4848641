//! The benchmark's floor for a read: an actix-web handler that answers `GET
//! /scim/v2/{tenant}/Users/{id}` with one indexed SQLite read of the stored document, spliced
//! into a response with no authentication, no log, no projection and no JSON parsing. It is
//! what any server on this stack pays for a read of a user that is not held in memory, so
//! `bench/pinned` and `bench/scimd-bench` can say how much of a read's cost is scimd's own.
//!
//! Usage: `read_floor DATABASE_FILE [ADDRESS]` on a scimd SQLite database.

use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;

diesel::table! {
    users (pk) {
        pk -> BigInt,
        tenant_id -> BigInt,
        id -> Text,
        data -> Text,
        version -> BigInt,
        created_at -> Text,
        last_modified -> Text,
    }
}

diesel::table! {
    tenants (id) {
        id -> BigInt,
        name -> Text,
    }
}

// scimd's allocator (src/main.rs), so the floor pays for its allocations what scimd pays.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

type Stored = (String, i64, String, String);

/// A worker's connection and the tenants it has looked up (scimd holds its tenants in memory).
struct Reader {
    conn: SqliteConnection,
    tenants: HashMap<String, i64>,
}

thread_local! {
    // One connection per worker thread, as scimd's readers are one per thread that reads.
    static READER: RefCell<Option<Reader>> = const { RefCell::new(None) };
}

fn connect(path: &str) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(path).expect("the database opens");
    // scimd's reader settings (store/connection.rs).
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        "PRAGMA query_only = ON; PRAGMA cache_size = -1000; PRAGMA busy_timeout = 10000;",
    )
    .expect("the reader's settings apply");
    conn
}

fn read(path: &str, tenant: &str, id: &str) -> QueryResult<Option<Stored>> {
    READER.with(|cell| {
        let mut cell = cell.borrow_mut();
        let reader = cell.get_or_insert_with(|| Reader { conn: connect(path), tenants: HashMap::new() });
        let tenant = match reader.tenants.get(tenant) {
            Some(&found) => found,
            None => {
                let Some(found) = tenants::table
                    .filter(tenants::name.eq(tenant))
                    .select(tenants::id)
                    .first(&mut reader.conn)
                    .optional()?
                else {
                    return Ok(None);
                };
                reader.tenants.insert(tenant.to_owned(), found);
                found
            }
        };
        users::table
            .filter(users::tenant_id.eq(tenant))
            .filter(users::id.eq(id))
            .select((users::data, users::version, users::created_at, users::last_modified))
            // Not `first`: its bound LIMIT made SQLite prepare the statement again at every
            // step (`sqlite3Reprepare`, 5% of the CPU).
            .get_result(&mut reader.conn)
            .optional()
    })
}

async fn get_user(path: web::Data<String>, params: web::Path<(String, String)>) -> HttpResponse {
    let (tenant, id) = params.into_inner();
    match read(&path, &tenant, &id) {
        Ok(Some((data, version, created, modified))) => match data.strip_suffix('}') {
            // The stored document (never empty: userName is required) without its closing
            // brace, then id and meta.
            Some(open) => HttpResponse::Ok().content_type("application/scim+json").body(format!(
                "{open},\"id\":\"{id}\",\"meta\":{{\"resourceType\":\"User\",\"created\":\"{created}\",\
                 \"lastModified\":\"{modified}\",\"version\":\"W/\\\"{version}\\\"\"}}}}"
            )),
            None => HttpResponse::InternalServerError().body("a stored user that is not a JSON object"),
        },
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: read_floor DATABASE_FILE [ADDRESS]");
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:18082".into());
    let path = web::Data::new(path);
    HttpServer::new(move || {
        App::new().app_data(path.clone()).route("/scim/v2/{tenant}/Users/{id}", web::get().to(get_user))
    })
    .bind(bind)?
    .run()
    .await
}
