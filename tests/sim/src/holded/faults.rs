//! Fault injection: 429s, 5xx, timeouts, HTML pages, slow answers, lists that
//! lag behind writes and pages that repeat, for the next N calls or at a
//! rate, optionally for one API generation or route only.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{model::Listed, state::State};

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
    /// A list leaves out the records (contacts, documents) created less than
    /// `delay_ms` ago (default 10 s, simulated clock): a just-created record
    /// reaches lists late, while a GET by its id finds it at once.
    ListLag,
    /// A list continuation repeats: v1 answers page N with page N−1, v2
    /// answers a cursor with that same cursor again. Fires only on calls that
    /// continue a list (v1 `page` ≥ 2, v2 a `cursor`).
    RepeatPage,
}

/// How a fired fault bends a list answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFault {
    /// Records created at or after this Unix second are left out.
    HideCreatedSince(i64),
    /// The page (v1) or cursor (v2) repeats.
    RepeatPage,
}

impl ListFault {
    /// Whether a list answered under `fault` shows `record`.
    pub fn shows(fault: Option<Self>, record: &impl Listed) -> bool {
        !matches!(fault, Some(Self::HideCreatedSince(since))
            if record.created_at().is_some_and(|at| at >= since))
    }
}

/// The kind of call a fault may fire on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallShape {
    /// A list (`GET` of a collection).
    pub list: bool,
    /// A list call that continues an earlier one (a later page or a cursor).
    pub continuation: bool,
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
    /// Delay for `timeout` (default 30 s) and `slow` (default 2 s); how far
    /// lists lag for `list_lag` (default 10 s).
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

    /// Whether this fault can fire on a call of `shape`.
    fn applies_to(&self, shape: CallShape) -> bool {
        match self.kind {
            FaultKind::ListLag => shape.list,
            FaultKind::RepeatPage => shape.continuation,
            _ => true,
        }
    }

    /// How this fault bends a list answered at `now` (Unix seconds), if it does.
    pub fn list_fault(&self, now: i64) -> Option<ListFault> {
        match self.kind {
            FaultKind::ListLag => {
                let lag_secs = self.delay_ms.unwrap_or(10_000).div_ceil(1_000);
                Some(ListFault::HideCreatedSince(
                    now - i64::try_from(lag_secs).unwrap_or(i64::MAX),
                ))
            }
            FaultKind::RepeatPage => Some(ListFault::RepeatPage),
            _ => None,
        }
    }
}

impl State {
    /// The fault for this call (`route` as in [`Fault::route`], `shape` what
    /// kind of call it is), if one fires (consuming a `next` count).
    pub fn fault_for(&mut self, generation: &str, route: &str, shape: CallShape) -> Option<Fault> {
        for i in 0..self.faults.len() {
            let fault = &self.faults[i];
            if fault.generation.as_deref().is_some_and(|g| g != generation)
                || fault.route.as_deref().is_some_and(|r| !route.contains(r))
                || !fault.applies_to(shape)
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
