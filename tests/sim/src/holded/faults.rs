//! Fault injection: 429s, 5xx, timeouts, HTML pages and slow answers, for the
//! next N calls or at a rate, optionally for one API generation or route only.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::state::State;

/// What goes wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultKind {
    /// HTTP 429 in the generation's shape, with `Retry-After` if given.
    RateLimit {
        /// Seconds for a `Retry-After` header.
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// A 5xx status with an empty body.
    ServerError {
        /// 500, 502, 503 or 504.
        #[serde(default = "default_status")]
        status: u16,
    },
    /// The request is processed but the answer comes after `delay_ms`
    /// (long enough for the client to give up).
    Timeout,
    /// Holded's HTML page with HTTP 200 instead of JSON.
    Html,
    /// The request is processed and answered after `delay_ms`.
    Slow,
}

fn default_status() -> u16 {
    503
}

/// One fault rule: with `next`, it fires on the next N matching calls; with
/// `rate`, on each call with that probability; with neither, on every call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// What happens.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Probability per call (0–1), when set.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Applies to the next N matching calls, when set.
    #[serde(default)]
    pub next: Option<u32>,
    /// Delay for `timeout` (default 30 s) and `slow` (default 2 s).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Only calls of this generation (`v1`/`v2`); both when unset.
    #[serde(default)]
    pub generation: Option<String>,
    /// Only calls whose route (`POST /api/v2/estimates`,
    /// `GET /api/invoicing/v1/contacts/{id}`) contains this text; all when unset.
    #[serde(default)]
    pub route: Option<String>,
}

impl Fault {
    /// The delay this fault adds to an answer.
    pub fn delay_ms(&self) -> u64 {
        match self.kind {
            FaultKind::Timeout => self.delay_ms.unwrap_or(30_000),
            FaultKind::Slow => self.delay_ms.unwrap_or(2_000),
            _ => 0,
        }
    }
}

impl State {
    /// The fault for this call (`route` as in [`Fault::route`]), if one fires
    /// (consuming a `next` count).
    pub fn fault_for(&mut self, generation: &str, route: &str) -> Option<Fault> {
        for i in 0..self.faults.len() {
            let fault = &self.faults[i];
            if fault.generation.as_deref().is_some_and(|g| g != generation)
                || fault.route.as_deref().is_some_and(|r| !route.contains(r))
            {
                continue;
            }
            let fires = match (fault.next, fault.rate) {
                (Some(0), _) => false,
                (Some(_), _) => true,
                (None, Some(rate)) => self.rng.random_bool(rate.clamp(0.0, 1.0)),
                (None, None) => true,
            };
            if fires {
                let fault = &mut self.faults[i];
                if let Some(n) = fault.next.as_mut() {
                    *n -= 1;
                }
                let fired = fault.clone();
                self.faults.retain(|f| f.next != Some(0));
                self.faults_injected += 1;
                return Some(fired);
            }
        }
        None
    }
}
