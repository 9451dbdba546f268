//! SLA clocks and reports: a scripted day on a controlled clock gives exact figures.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

on_every_store!(with crate::reports::spawn; a_scripted_day_gives_exact_report_figures, reports_refuse_bad_input);

/// A test clock, and no background sweep during the test (the test sweeps itself).
pub async fn spawn(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.claims.sweep_interval_seconds = 3600).await
}

const START: i64 = 1_800_000_000_000;

fn at(secs: i64) -> String {
    chat_domain::Timestamp(START + secs * 1000).to_rfc3339()
}

async fn thread_of(app: &TestApp, client: &Actor) -> i64 {
    app.write(client, json!(1), "my loan has not arrived").await["thread"]["id"]
        .as_i64()
        .unwrap()
}

async fn answer(app: &TestApp, t: i64, agent: &Actor) {
    assert_eq!(app.claim(t, agent).await.status(), StatusCode::OK);
    assert_eq!(
        app.reply(t, agent, "on it").await.status(),
        StatusCode::CREATED
    );
}

async fn json_of(app: &TestApp, path: &str, who: &Actor) -> Value {
    let resp = app.get(path, Some(&who.token)).await;
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.json().await.unwrap()
}

async fn a_scripted_day_gives_exact_report_figures(app: TestApp) {
    let bo = app.agent("bo").await;
    let (ann, cy, di) = (
        app.client("ann").await,
        app.client("cy").await,
        app.client("di").await,
    );
    // t = 0: ann and cy write about loans (target: first response 5 min).
    let ta = thread_of(&app, &ann).await;
    let tc = thread_of(&app, &cy).await;
    // t = 60: bo answers ann (60 s).
    app.advance_secs(60);
    answer(&app, ta, &bo).await;
    // t = 180: bo answers cy (180 s); ann writes again (a next response clock); di writes.
    app.advance_secs(120);
    answer(&app, tc, &bo).await;
    app.write(&ann, json!(1), "and another thing").await;
    let td = thread_of(&app, &di).await;
    let view = json_of(&app, &format!("/api/v1/threads/{ta}"), &bo).await;
    assert_eq!(view["sla"]["first_response_seconds"], json!(60));
    assert_eq!(view["sla"]["next_breach_at"], json!(at(180 + 15 * 60)));
    // Each item of a staff list carries the same SLA as the thread's read.
    let list = json_of(&app, "/api/v1/threads?assignee=me", &bo).await;
    let items = list["items"].as_array().unwrap();
    let item = items.iter().find(|i| i["id"] == json!(ta)).unwrap();
    assert_eq!(item["sla"], view["sla"]);
    let c = items.iter().find(|i| i["id"] == json!(tc)).unwrap();
    assert_eq!(c["sla"]["first_response_seconds"], json!(180));
    // Clients never see the SLA.
    let own = json_of(&app, &format!("/api/v1/threads/{ta}"), &ann).await;
    assert!(own.get("sla").is_none());
    // t = 420: di's clock has a quarter of its 5 min left: at risk, more urgent.
    app.advance_secs(240);
    let sweep = app.chat.sweep_sla().unwrap();
    assert_eq!((sweep.at_risk, sweep.breached), (1, 0));
    let d = json_of(&app, &format!("/api/v1/threads/{td}"), &bo).await;
    let reasons = d["urgency"]["reasons"].to_string();
    assert!(reasons.contains("first response due soon"), "{reasons}");
    // t = 500: di's first response is overdue: one breach, reported once.
    app.advance_secs(80);
    let sweep = app.chat.sweep_sla().unwrap();
    assert_eq!((sweep.at_risk, sweep.breached), (0, 1));
    assert_eq!(app.chat.sweep_sla().unwrap().breached, 0);
    let d = json_of(&app, &format!("/api/v1/threads/{td}"), &bo).await;
    assert_eq!(d["sla"]["breached"], json!(true));
    // t = 600: bo answers di (420 s, missed) and ann (420 s of 15 min), then resolves ann (600 s).
    app.advance_secs(100);
    answer(&app, td, &bo).await;
    answer(&app, ta, &bo).await;
    let resolved = app
        .put_json(
            &format!("/api/v1/threads/{ta}/status"),
            json!({"status": "resolved"}),
            Some(&bo.token),
        )
        .await;
    assert_eq!(resolved.status(), StatusCode::OK);
    let a = json_of(&app, &format!("/api/v1/threads/{ta}"), &bo).await;
    assert_eq!(a["sla"]["resolution_seconds"], json!(600));
    assert_eq!(a["sla"]["last_response_seconds"], json!(420));

    let range = format!("from={}&to={}", at(-3600), at(86_400)).replace('+', "%2B");
    let summary = json_of(
        &app,
        &format!("/api/v1/reports/summary?{range}&group_by=type"),
        &bo,
    )
    .await;
    assert_eq!(
        summary["rows"],
        json!([{
            "key": "loan", "name": "loan", "opened": 3, "resolved": 1,
            // 60, 180, 420: p90 at 1.8 -> 180 + 0.8 * 240.
            "first_response_p50_seconds": 180.0, "first_response_p90_seconds": 372.0,
            "resolution_p50_seconds": 600.0, "resolution_p90_seconds": 600.0,
            // ann, cy met their first response, di missed; ann's next and resolution met.
            "sla_measured": 5, "sla_met_share": 0.8,
            "rating_average": null, "rating_count": 0
        }])
    );
    let by_day = json_of(&app, &format!("/api/v1/reports/summary?{range}"), &bo).await;
    assert_eq!(by_day["group_by"], json!("day"));
    assert_eq!(by_day["rows"][0]["key"], json!(&at(0)[..10]));
    let by_agent = json_of(
        &app,
        &format!("/api/v1/reports/summary?{range}&group_by=agent"),
        &bo,
    )
    .await;
    assert_eq!(by_agent["rows"][0]["name"], json!("bo"));
    let agents = json_of(&app, &format!("/api/v1/reports/agents?{range}"), &bo).await;
    assert_eq!(
        agents["agents"],
        json!([{
            "agent_id": bo.id, "username": "bo",
            // di's claim is live; cy's lapsed at 480, ann's ended with the resolve.
            "held": 1, "resolved": 1, "responses": 4,
            // 60, 180, 420, 420.
            "response_p50_seconds": 300.0, "response_p90_seconds": 420.0,
            "rating_average": null, "rating_count": 0
        }])
    );
    // By label: ann's conversation is about billing (labelled after the fact: grouping reads
    // the labels now), cy's and di's carry none.
    let boss = app.admin("boss").await;
    let billing = app
        .post_json(
            "/api/v1/labels",
            json!({"name": "billing", "color": "#00aa00"}),
            Some(&boss.token),
        )
        .await;
    assert_eq!(billing.status(), StatusCode::CREATED);
    let billing: Value = billing.json().await.unwrap();
    let labelled = app
        .post_json(
            &format!("/api/v1/threads/{ta}/labels"),
            json!({ "label_id": billing["id"] }),
            Some(&bo.token),
        )
        .await;
    assert!(labelled.status().is_success(), "{}", labelled.status());
    let by_label = json_of(
        &app,
        &format!("/api/v1/reports/summary?{range}&group_by=label"),
        &bo,
    )
    .await;
    assert_eq!(by_label["group_by"], json!("label"));
    assert_eq!(
        by_label["rows"],
        json!([{
            "key": billing["id"].to_string(), "name": "billing", "opened": 1, "resolved": 1,
            "first_response_p50_seconds": 60.0, "first_response_p90_seconds": 60.0,
            "resolution_p50_seconds": 600.0, "resolution_p90_seconds": 600.0,
            // ann's first and next response and resolution, all met.
            "sla_measured": 3, "sla_met_share": 1.0,
            "rating_average": null, "rating_count": 0
        }, {
            "key": "none", "name": "none", "opened": 2, "resolved": 0,
            // 180, 420: p90 at 0.9 -> 180 + 0.9 * 240.
            "first_response_p50_seconds": 300.0, "first_response_p90_seconds": 396.0,
            "resolution_p50_seconds": null, "resolution_p90_seconds": null,
            // cy met, di missed.
            "sla_measured": 2, "sla_met_share": 0.5,
            "rating_average": null, "rating_count": 0
        }])
    );
}

async fn reports_refuse_bad_input(app: TestApp) {
    let bo = app.agent("bo").await;
    let ann = app.client("ann").await;
    let resp = app.get("/api/v1/reports/summary", Some(&ann.token)).await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    for query in ["group_by=week", "group_by=", "from=yesterday"] {
        let resp = app
            .get(&format!("/api/v1/reports/summary?{query}"), Some(&bo.token))
            .await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    }
    let resp = app.get("/api/v1/reports/agents", None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let empty = json_of(&app, "/api/v1/reports/agents", &bo).await;
    assert_eq!(empty["agents"], json!([]));
    // A range ending before it starts is empty, not an error.
    let backwards = json_of(
        &app,
        "/api/v1/reports/summary?from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z",
        &bo,
    )
    .await;
    assert_eq!(backwards["rows"], json!([]));
}
