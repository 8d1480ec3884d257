# syntax=docker/dockerfile:1
# Holded ⇄ HubSpot in small images. The default (last) stage, `production`, is
# the service alone (`holded-hubspot`, built without the `demo` feature: no
# simulators, no demo). The `demo` stage adds the simulators
# (`holded-hubspot-sim`) and the demo, for the compose `demo` profile.
#   docker build -t holded-hubspot:local .
#   docker build --target demo -t holded-hubspot-demo:local .
#   docker run --rm -p 8080:8080 holded-hubspot-demo:local demo

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-trixie AS builder
WORKDIR /src

# 1. Dependencies only, a layer that stays cached until a manifest or the lock
#    file changes: the workspace's manifests, with empty stand-ins for sources.
COPY Cargo.toml Cargo.lock ./
COPY backend/Cargo.toml backend/
COPY migrations/Cargo.toml migrations/
COPY tests/sim/Cargo.toml tests/sim/
COPY tests/e2e/Cargo.toml tests/e2e/
RUN mkdir -p backend/src migrations/src tests/sim/src tests/e2e/src/bin \
 && touch backend/src/lib.rs migrations/src/lib.rs tests/sim/src/lib.rs \
 && for bin in backend/src/main.rs tests/sim/src/main.rs tests/e2e/src/bin/hh-under-test.rs; do \
      echo 'fn main() {}' > "$bin"; \
    done \
 && cargo build --release --locked -p holded-hubspot --no-default-features \
 && cargo build --release --locked -p holded-hubspot -p holded-hubspot-sim

# 2. The sources (and the HubSpot app files the backend and the simulator
#    embed). Touching the crate roots makes Cargo rebuild them over the stand-ins.
COPY backend backend
COPY migrations migrations
COPY tests/sim tests/sim
COPY hubspot-app/crm-properties.json hubspot-app/
COPY hubspot-app/src/app/app-hsmeta.json hubspot-app/src/app/
COPY hubspot-app/src/app/webhooks/webhooks-hsmeta.json hubspot-app/src/app/webhooks/
#    The production binary is built first and put aside; then the demo's.
RUN touch backend/src/lib.rs backend/src/main.rs migrations/src/lib.rs \
      tests/sim/src/lib.rs tests/sim/src/main.rs \
 && cargo build --release --locked -p holded-hubspot --no-default-features \
 && mkdir -p /out/production /out/demo \
 && cp target/release/holded-hubspot /out/production/ \
 && cargo build --release --locked -p holded-hubspot -p holded-hubspot-sim \
 && cp target/release/holded-hubspot target/release/holded-hubspot-sim /out/demo/

FROM debian:trixie-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home \
      --home-dir /var/lib/holded-hubspot holded-hubspot \
 && install -d -o holded-hubspot -g holded-hubspot /var/lib/holded-hubspot/data
USER holded-hubspot
WORKDIR /var/lib/holded-hubspot
ENV HH_BIND=0.0.0.0:8080 \
    HH_DATA_DIR=/var/lib/holded-hubspot/data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=6s --start-period=20s --retries=3 \
  CMD ["holded-hubspot", "healthcheck"]
# `docker stop` (SIGTERM) is a graceful stop of up to 30 seconds: allow more
# than Docker's default 10 (compose sets stop_grace_period; with docker run use
# --stop-timeout 40). Worker containers serve no HTTP: run them with
# --no-healthcheck (compose disables it).
ENTRYPOINT ["holded-hubspot"]
CMD ["serve"]

# The service with the simulators and `holded-hubspot demo` (compose `demo` profile).
FROM runtime AS demo
COPY --from=builder /out/demo/holded-hubspot /out/demo/holded-hubspot-sim /usr/local/bin/

# The production image: the service alone.
FROM runtime AS production
COPY --from=builder /out/production/holded-hubspot /usr/local/bin/
