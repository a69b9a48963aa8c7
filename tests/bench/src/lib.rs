//! `inkan-bench`, Inkan's load generator: for each scenario, N keep-alive
//! connections drive real protocol flows for a fixed time; the report gives
//! requests/s, the server's CPU time per request (user + system of every
//! server process, from `/proc`), latency percentiles, errors, memory, and
//! each figure beside its target from issue #6. See `docs/benchmarks.md`.
//!
//! The binary (`src/main.rs`) composes these pieces; the smoke tests drive
//! the same code for a fraction of a second.
//!
//! # Layout
//! - [`server`]: the deployment shapes (embedded, backends, microservices,
//!   token replicas) as processes the bench starts, measures and stops.
//! - [`backends`]: a fresh Postgres schema / Redis prefix / NATS stream per run, removed after.
//! - [`routes`]: which process serves which path, round robin over token replicas.
//! - [`provision`]: projects and identities through the admin API.
//! - [`scenarios`]: what one request of each scenario is, and its preparation.
//! - [`load`]: closed-loop and open-loop drivers, latency percentiles.
//! - [`run`]: one scenario measured (warm-up, load, CPU over it); a whole run.
//! - [`reference`]: bare signature and argon2id costs measured in-process.
//! - [`targets`]: issue #6's targets and verdicts.
//! - [`peer`]: node-oidc-provider, installed and driven side by side.
//! - [`report`]: the printed tables.
//! - [`procfs`]: CPU ticks and memory from `/proc`.
//! - [`wire`]: HTTP helpers (Basic auth, forms, cookies, redirects).

pub mod backends;
pub mod load;
pub mod peer;
pub mod procfs;
pub mod provision;
pub mod reference;
pub mod report;
pub mod routes;
pub mod run;
pub mod scenarios;
pub mod server;
pub mod targets;
pub mod wire;

pub use run::{run, Config, ScenarioResult};
pub use scenarios::ALL as ALL_SCENARIOS;
pub use server::{Deployment, Shape, StartOptions, ADMIN_ID, ADMIN_SECRET};
