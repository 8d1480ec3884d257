//! HubSpot webhook intake: the service's web process (`serve --no-workers`,
//! on a throw-away PostgreSQL database) receives deal stage-change
//! deliveries of an installed portal, signed as HubSpot signs them (v3),
//! sent open-loop at a constant rate: each request leaves at its scheduled
//! time whatever the earlier ones are doing, and is timed from that time
//! (so a stalled server is charged for the requests queued behind it, with
//! no coordinated omission). One delivery in ten repeats an earlier event,
//! as HubSpot's duplicates do; the service must take every distinct event
//! once and the repeats as duplicates.

use std::time::Duration;

use holded_hubspot::hubspot::signature::{SignedRequest, sign_v3};
use holded_hubspot_sim::holded::seed::SeedSpec;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::{task::JoinSet, time::Instant};

use crate::{
    Args,
    service::{APP_ID, CLIENT_SECRET, Postgres, Service},
    stats::{Percentiles, ms},
    support::{Bench, Key, SimSetup},
};

/// Every how many deliveries one repeats an earlier event.
const REPEAT_EVERY: usize = 10;
/// The target: p99 of the ack under this.
const TARGET_P99: Duration = Duration::from_millis(20);

/// What one delivery got.
struct Answer {
    /// From its scheduled send time to the end of the answer.
    latency: Duration,
    /// When the answer ended.
    at: Instant,
    /// The answer's body when it was a 2xx, else `None`.
    body: Option<Value>,
}

/// Runs the section and prints its table; fails when a delivery was not
/// acknowledged or the events were not taken once each.
pub async fn run(args: &Args) -> anyhow::Result<()> {
    let database = Postgres::create().await?;
    let measured = measure(args, &database).await;
    database.drop_database().await?;
    let (answers, started) = measured?;

    let sent = answers.len();
    let acked: Vec<&Answer> = answers.iter().filter(|a| a.body.is_some()).collect();
    let errors = sent - acked.len();
    let last = answers.iter().map(|a| a.at).max().unwrap_or(started);
    let rate = acked.len() as f64 / (last - started).as_secs_f64().max(1e-9);
    let p = Percentiles::of(answers.iter().map(|a| a.latency).collect());
    let count = |field: &str| -> u64 {
        acked
            .iter()
            .filter_map(|a| a.body.as_ref()?.get(field)?.as_u64())
            .sum()
    };
    let repeats = sent / REPEAT_EVERY;
    println!(
        "## Webhook intake: {} deliveries/s for {} s, open loop, one deal stage change a delivery, one in {REPEAT_EVERY} a repeat; web process on PostgreSQL",
        args.webhook_rate,
        args.webhook_time.as_secs_f64()
    );
    println!();
    println!(
        "| sent | answered 2xx | errors | accepted / duplicates | achieved /s | ack p50 ms | ack p99 ms (target < {}) | ack max ms |",
        TARGET_P99.as_millis()
    );
    println!("|---:|---:|---:|---|---:|---:|---:|---:|");
    println!(
        "| {sent} | {} | {errors} | {} / {} | {rate:.1} | {} | {} | {} |",
        acked.len(),
        count("accepted"),
        count("duplicates"),
        ms(p.p50),
        ms(p.p99),
        ms(p.max),
    );
    anyhow::ensure!(errors == 0, "{errors} deliveries were not acknowledged");
    anyhow::ensure!(
        count("accepted") as usize == sent - repeats && count("duplicates") as usize == repeats,
        "expected {} events accepted and {repeats} duplicates",
        sent - repeats
    );
    Ok(())
}

/// Starts the web process on `database` and sends the deliveries; returns
/// their answers and the first one's scheduled time.
async fn measure(args: &Args, database: &Postgres) -> anyhow::Result<(Vec<Answer>, Instant)> {
    let bench = Bench::on(
        Some(&database.url),
        SeedSpec::default(),
        Key::V2,
        "{}",
        SimSetup::default(),
    )
    .await?;
    let service = Service::start(&bench, 0).await?;
    let url = format!("{}/webhooks/hubspot", service.url);
    let bodies = deliveries(
        bench.portal_id,
        (f64::from(args.webhook_rate) * args.webhook_time.as_secs_f64()) as usize,
    );
    let http = holded_hubspot::http::client_builder().build()?;
    let secret = SecretString::from(CLIENT_SECRET.to_owned());
    let every = Duration::from_secs_f64(1.0 / f64::from(args.webhook_rate));
    let started = Instant::now() + Duration::from_millis(100);
    let mut sending = JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let scheduled = started + every.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled).await;
        let (http, url, secret) = (http.clone(), url.clone(), secret.clone());
        sending.spawn(async move {
            let timestamp = chrono::Utc::now().timestamp_millis();
            let signature = sign_v3(
                &secret,
                &SignedRequest {
                    method: "POST",
                    uri: &url,
                    body: body.as_bytes(),
                },
                timestamp,
            );
            let answer = http
                .post(&url)
                .header("Content-Type", "application/json")
                .header("X-HubSpot-Signature-v3", signature)
                .header("X-HubSpot-Request-Timestamp", timestamp.to_string())
                .body(body)
                .send()
                .await;
            let body = match answer {
                Ok(answer) if answer.status().is_success() => answer.json::<Value>().await.ok(),
                _ => None,
            };
            Answer {
                latency: scheduled.elapsed(),
                at: Instant::now(),
                body,
            }
        });
    }
    let answers = sending.join_all().await;
    service.stop().await;
    bench.finish().await;
    Ok((answers, started))
}

/// The bodies of `n` deliveries to `portal`: each one deal stage change
/// (HubSpot's `object.propertyChange` on deals), distinct events with
/// distinct ids, but every [`REPEAT_EVERY`]th repeating the event five
/// deliveries before it.
fn deliveries(portal: i64, n: usize) -> Vec<String> {
    let stages = ["appointmentscheduled", "qualifiedtobuy", "closedwon"];
    let now = chrono::Utc::now().timestamp_millis();
    let mut events: Vec<Value> = Vec::with_capacity(n);
    for i in 0..n {
        let event = if i % REPEAT_EVERY == REPEAT_EVERY - 1 {
            events[i - 5].clone()
        } else {
            json!({
                "eventId": 1_000_000 + i,
                "subscriptionId": 1,
                "portalId": portal,
                "appId": APP_ID,
                "occurredAt": now + i as i64,
                "subscriptionType": "object.propertyChange",
                "objectTypeId": "0-3",
                "objectId": 50_000 + i % 700,
                "propertyName": "dealstage",
                "propertyValue": stages[i % stages.len()],
                "changeSource": "CRM_UI",
                "sourceId": "userId:1",
                "attemptNumber": 0,
            })
        };
        events.push(event);
    }
    events
        .iter()
        .map(|event| Value::Array(vec![event.clone()]).to_string())
        .collect()
}
