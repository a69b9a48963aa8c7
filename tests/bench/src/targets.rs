//! The targets of issue #6 ("Performance"), per scenario, and whether a
//! figure meets them. Targets are printed beside the figures, never asserted.

use serde::Serialize;

use crate::reference::References;

/// What a target bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Server CPU ms per request (per flow for the code-flow scenarios).
    CpuMsPerRequest,
    /// Client-side p99 latency, ms.
    P99Ms,
}

/// An upper bound and where it comes from.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    pub metric: Metric,
    pub limit: f64,
    pub basis: String,
}

/// The issue's node-oidc-provider figures (ms CPU per request), used for the
/// discovery and JWKS targets when the peer did not run in the same invocation.
pub fn issue_peer_figure(scenario: &str) -> Option<f64> {
    Some(match scenario {
        "client_credentials_rs256" => 1.2,
        "client_credentials_es256" => 0.49,
        "client_credentials_eddsa" => 0.48,
        "introspection" => 0.32,
        "discovery" => 0.16,
        "jwks" => 0.10,
        _ => return None,
    })
}

/// How many times cheaper than the peer Inkan must be, per scenario (issue #6).
pub fn peer_factor(scenario: &str) -> Option<f64> {
    Some(match scenario {
        "client_credentials_es256" | "client_credentials_eddsa" => 10.0,
        "client_credentials_rs256" => 1.5,
        "introspection" => 5.0,
        "discovery" | "jwks" => 10.0,
        _ => return None,
    })
}

/// The target of `scenario`. `peer` is the peer's CPU ms/req for the same
/// scenario when it ran; `flow_alg` signs the code flows' tokens.
pub fn target(
    scenario: &str,
    refs: Option<&References>,
    peer: Option<f64>,
    flow_alg: &str,
) -> Option<Target> {
    let cpu = |limit: f64, basis: String| Target {
        metric: Metric::CpuMsPerRequest,
        limit,
        basis,
    };
    match scenario {
        "client_credentials_es256" | "client_credentials_eddsa" => Some(cpu(
            0.05,
            "<= 0.05 ms (10x under node-oidc-provider)".into(),
        )),
        "client_credentials_rs256" => refs.map(|r| {
            cpu(
                1.15 * r.rs256_sign_ms,
                format!("<= 1.15 x bare RS256 signature ({:.3} ms)", r.rs256_sign_ms),
            )
        }),
        "client_credentials_es256_half_rate" => Some(Target {
            metric: Metric::P99Ms,
            limit: 5.0,
            basis: "p99 < 5 ms at half the max ES256 throughput".into(),
        }),
        "introspection" | "userinfo" => Some(cpu(
            0.065,
            "<= 0.065 ms (one verification, one KV round trip)".into(),
        )),
        "discovery" | "jwks" => {
            let (figure, whose) = match peer {
                Some(p) => (p, "peer, this run"),
                None => (issue_peer_figure(scenario)?, "peer, issue figure"),
            };
            Some(cpu(
                figure / 10.0,
                format!("<= peer / 10 ({whose}: {figure:.3} ms)"),
            ))
        }
        "authorization_code_sso" => refs.and_then(|r| {
            let sign = r.sign_ms(flow_alg)?;
            Some(cpu(
                0.3 + 2.0 * sign,
                format!("<= 0.3 ms + 2 bare {flow_alg} signatures ({sign:.3} ms each)"),
            ))
        }),
        "authorization_code_password" => refs.map(|r| {
            cpu(
                1.1 * r.argon2id_verify_ms,
                format!(
                    "<= 1.1 x bare argon2id verification ({:.1} ms)",
                    r.argon2id_verify_ms
                ),
            )
        }),
        // Issue #12: one signature verification instead of argon2id.
        "authorization_code_passkey" => refs.map(|r| {
            let password = 1.1 * r.argon2id_verify_ms;
            cpu(
                password / 40.0,
                format!("<= the password login's target / 40 ({password:.1} ms / 40)"),
            )
        }),
        _ => None,
    }
}

/// "met (23% under)" or "MISSED by 12%".
pub fn verdict(value: f64, limit: f64) -> String {
    if limit <= 0.0 {
        return "n/a".into();
    }
    let ratio = value / limit;
    if ratio <= 1.0 {
        format!("met ({:.0}% under)", (1.0 - ratio) * 100.0)
    } else {
        format!("MISSED by {:.0}%", (ratio - 1.0) * 100.0)
    }
}

/// Memory targets of `inkan serve` embedded (issue #6), KiB: idle, under load.
pub const EMBEDDED_IDLE_KIB: u64 = 30 * 1024;
pub const EMBEDDED_LOAD_KIB: u64 = 100 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_say_by_how_much() {
        assert_eq!(verdict(0.04, 0.05), "met (20% under)");
        assert_eq!(verdict(0.06, 0.05), "MISSED by 20%");
        assert_eq!(verdict(1.0, 0.0), "n/a");
    }

    #[test]
    fn discovery_falls_back_to_the_issue_figure() {
        let t = target("discovery", None, None, "ES256").unwrap();
        assert!((t.limit - 0.016).abs() < 1e-9);
        let t = target("jwks", None, Some(0.2), "ES256").unwrap();
        assert!((t.limit - 0.02).abs() < 1e-9);
        assert!(target("refresh", None, None, "ES256").is_none());
    }
}
