//! End-to-end tests: the real `inkan` binary, started as separate processes
//! on random loopback ports, driven over HTTP the way operators and relying
//! parties use it. One test binary links every module (zero2prod style).

mod abuse;
mod account;
mod backchannel;
mod browser;
mod cluster;
mod conformance;
mod degraded;
mod fapi;
mod helpers;
mod in_process;
mod lifecycle;
mod mail;
mod operations;
mod outages;
mod passkeys;
mod privilege;
mod projections;
mod provider;
mod readme;
mod relying_party;
mod safety;
mod second_factor;
mod settings;
mod smtp;
mod storage;
mod tokens;
