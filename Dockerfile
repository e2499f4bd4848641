# Mirrors the README: a release build of the scimd binary, run on a slim Debian with libpq.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin scimd

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/scimd --create-home scimd
COPY --from=build /src/target/release/scimd /usr/local/bin/scimd
USER scimd
WORKDIR /var/lib/scimd
# Listening on every interface, scimd cannot tell the origin clients reach it at: give it as
# SCIMD_PUBLIC_URL (docker run -e SCIMD_PUBLIC_URL=https://scim.example.com …), or Base URLs
# name 0.0.0.0 and scimd warns that no client can reach them.
ENV SCIMD_BIND=0.0.0.0:8080 \
    SCIMD_DATABASE_URL=sqlite:///var/lib/scimd/scimd.db
EXPOSE 8080
VOLUME ["/var/lib/scimd"]
ENTRYPOINT ["scimd"]
CMD ["serve"]
