# The verbs people use. `make run` and `make test` do their own set-up on a fresh machine.
SHELL := /bin/bash
CARGO ?= cargo
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export REDIS_URL ?= redis://127.0.0.1:6379

.PHONY: run test lint fmt check-services test-rust example test-browser test-openapi build bench bench-smoke clean

## Start the server on 127.0.0.1:8000 with the embedded default (SQLite under ./data, in-process events).
run:
	$(CARGO) run --release --bin chat-server -- serve

## One build of everything (one feature resolution): the tests, the example, the browser test and
## bench-smoke all use its binaries, so nothing is compiled twice.
build:
	$(CARGO) build --workspace --all-targets

DEBUG_BIN := $(or $(CARGO_TARGET_DIR),target)/debug

## The whole suite: formatting, lints, then every test against real Postgres and Redis.
test: lint check-services build test-rust example test-browser test-openapi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Postgres and Redis are required by the suite: fail loudly, never skip.
check-services:
	@scripts/check-services.sh

test-rust:
	$(CARGO) test --workspace --no-fail-fast

## Another service embedding chat-domain on the in-memory adapters (examples/embed): one
## conversation, printed and checked; fails if the embedding breaks.
example: build
	$(DEBUG_BIN)/chat-example-embed

## The pages in headless Chromium against the real server (installs chromium and node modules if missing).
test-browser:
	tests/browser/run.sh

## The OpenAPI document against the real server: Schemathesis (pinned, installed into
## tests/openapi/.venv if missing), every check, on SQLite and on Postgres + Redis. Uses the debug
## `chat-server` the browser test builds (`cargo build --bin chat-server`): no second compile.
test-openapi:
	tests/openapi/run.sh

clean:
	$(CARGO) clean

## Benchmarks (crates/bench, docs/BENCHMARKS.md). Results: target/bench/results.{md,json}.
## make bench [SCENARIO=rest-send|claims|connections|fanout|queue|reports|urgency|routing|chaos] [EMBEDDED=1] [BENCH_ARGS="--sockets 2000"]
## SCENARIO=chaos (never part of `all`) stops and starts Postgres and Redis under load: it runs on a
## private Postgres cluster and Redis server of its own (temporary directory, own ports), never the
## machine's, and removes them afterwards.
BENCH_TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
SCENARIO ?= all
BENCH_ARGS ?=
BENCH_MODE := $(if $(EMBEDDED),--embedded,)

bench:
	$(CARGO) build --release -p chat-server -p chat-bench
	$(BENCH_TARGET_DIR)/release/chat-bench --server-bin $(BENCH_TARGET_DIR)/release/chat-server \
		--scenario $(SCENARIO) $(BENCH_MODE) $(BENCH_ARGS)

## The same harness with tiny sizes, on the embedded default and then on Postgres + Redis (two
## instances); fails if the harness breaks or a correctness check fails. Uses the debug build.
bench-smoke: build
	$(BENCH_TARGET_DIR)/debug/chat-bench --smoke --embedded --server-bin $(BENCH_TARGET_DIR)/debug/chat-server \
		--scenario $(SCENARIO) --out target/bench/smoke-embedded $(BENCH_ARGS)
	$(BENCH_TARGET_DIR)/debug/chat-bench --smoke --server-bin $(BENCH_TARGET_DIR)/debug/chat-server \
		--scenario $(SCENARIO) --out target/bench/smoke-postgres $(BENCH_ARGS)
	if [ "$(SCENARIO)" = all ]; then \
		$(BENCH_TARGET_DIR)/debug/chat-bench --smoke --server-bin $(BENCH_TARGET_DIR)/debug/chat-server \
			--scenario chaos --out target/bench/smoke-chaos; fi
