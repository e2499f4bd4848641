//! The benchmark baseline: the cheapest actix-web handler, built like scimd (same crate
//! features, release profile), so scimd's figures can be stated as a share of what this
//! machine's HTTP stack can do at all.

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".into());
    HttpServer::new(|| App::new().route("/", web::get().to(|| async { HttpResponse::Ok().body("Hello, world!") })))
        .bind(bind)?
        .run()
        .await
}
