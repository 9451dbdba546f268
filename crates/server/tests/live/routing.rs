//! Automatic assignment on two instances sharing Postgres and Redis: three agents online with
//! capacity 2, eight clients write; the six most urgent are held, two each, two wait; a freed
//! slot takes the next most urgent; an agent whose sockets drop goes offline, and after the
//! grace period their conversations go to the others.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const ROUTING: &[(&str, &str)] = &[
    ("CHAT__ROUTING__MODE", "auto"),
    ("CHAT__ROUTING__DEFAULT_CAPACITY", "2"),
    ("CHAT__ROUTING__OFFLINE_AFTER_SECONDS", "1"),
    ("CHAT__ROUTING__REASSIGN_AFTER_SECONDS", "1"),
    ("CHAT__ROUTING__SWEEP_INTERVAL_MS", "200"),
];

const MESSAGES: [&str; 8] = [
    "thanks, all good now",
    "someone stole my phone and money is leaving my account right now",
    "my payment failed and the rent is due today",
    "when will my loan be approved?",
    "I was charged twice for the same order",
    "please send me my statement for march",
    "I think this is fraud, I never made this transfer",
    "just a general question about your fees",
];

async fn send(
    inst: &Instance,
    method: reqwest::Method,
    path: &str,
    body: Value,
    token: &str,
) -> (StatusCode, Value) {
    let resp = inst
        .http
        .request(method, inst.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The next `assigned` frame on a queue socket.
async fn next_assigned(ws: &mut Socket) -> (i64, i64) {
    let frame = ws.next_of("assigned").await;
    (
        frame["thread_id"].as_i64().unwrap(),
        frame["agent_id"].as_i64().unwrap(),
    )
}

async fn holders(inst: &Instance, admin: &User, threads: &[i64]) -> BTreeMap<i64, Option<i64>> {
    let mut map = BTreeMap::new();
    for t in threads {
        let (status, body) = inst
            .get(&format!("/api/v1/threads/{t}"), &admin.token)
            .await;
        assert_eq!(status, StatusCode::OK);
        map.insert(*t, body["claim"]["agent_id"].as_i64());
    }
    map
}

async fn three_agents_on_two_instances_share_eight_conversations_by_urgency(shared: Shared) {
    let a = Instance::start(&shared, ROUTING).await;
    let b = Instance::start(&shared, ROUTING).await;
    let admin = a.admin().await;
    let agents = [
        a.new_agent().await,
        b.new_agent().await,
        a.new_agent().await,
    ];

    // Eight clients write while nobody is online: the queue holds all eight, in its order.
    for (i, body) in MESSAGES.iter().enumerate() {
        let inst = if i % 2 == 0 { &a } else { &b };
        let client = inst.new_client().await;
        inst.open_thread(&client, body).await;
    }
    let (status, queue) = a.get("/api/v1/queue", &admin.token).await;
    assert_eq!(status, StatusCode::OK);
    let order: Vec<i64> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["thread"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order.len(), 8);

    // Agents 0 and 2 on instance A, agent 1 on B; each goes online over its queue socket.
    let insts = [&a, &b, &a];
    let mut sockets = Vec::new();
    for (agent, inst) in agents.iter().zip(insts) {
        let mut ws = inst.socket("/ws/queue", &agent.token).await;
        assert_eq!(ws.next_json().await["type"], "ready");
        sockets.push(ws);
    }
    let mut watcher = a.socket("/ws/queue", &admin.token).await;
    assert_eq!(watcher.next_json().await["type"], "ready");
    for (i, ws) in sockets.iter_mut().enumerate() {
        ws.send_json(json!({"type": "availability.set", "availability": "online"}))
            .await;
        // Every console sees it (this agent's own included; earlier agents' come first).
        let seen = loop {
            let frame = ws.next_of("availability").await;
            if frame["agent_id"] == agents[i].id {
                break frame;
            }
        };
        assert_eq!(seen["username"], agents[i].username.as_str());
        assert_eq!(seen["availability"], "online");
    }
    // Six assignments: the six most urgent, two per agent.
    let mut assigned = BTreeMap::new();
    while assigned.len() < 6 {
        let (t, agent) = next_assigned(&mut watcher).await;
        assert!(
            assigned.insert(t, agent).is_none(),
            "thread {t} assigned twice"
        );
    }
    let held: BTreeSet<i64> = assigned.keys().copied().collect();
    assert_eq!(held, order[..6].iter().copied().collect());
    for agent in &agents {
        assert_eq!(assigned.values().filter(|a| **a == agent.id).count(), 2);
    }
    let now = holders(&a, &admin, &order).await;
    assert_eq!(now[&order[6]], None);
    assert_eq!(now[&order[7]], None);
    for t in &order[..6] {
        assert_eq!(now[t], Some(assigned[t]));
    }
    let (_, queue) = b.get("/api/v1/queue", &admin.token).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 2);

    // Agent 0 resolves one: the next most urgent comes to them.
    let mine: Vec<i64> = order[..6]
        .iter()
        .copied()
        .filter(|t| assigned[t] == agents[0].id)
        .collect();
    let (status, _) = send(
        &a,
        reqwest::Method::PUT,
        &format!("/api/v1/threads/{}/status", mine[0]),
        json!({"status": "resolved"}),
        &agents[0].token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // (The queue socket also saw the first six assignments: skip them.)
    let (t, agent) = loop {
        let (t, agent) = next_assigned(&mut sockets[0]).await;
        if !assigned.contains_key(&t) {
            break (t, agent);
        }
    };
    assert_eq!((t, agent), (order[6], agents[0].id));
    assert_eq!(next_assigned(&mut watcher).await, (order[6], agents[0].id));

    // Agent 1's socket drops: offline after the grace period, then their conversations go
    // back to the router.
    let gone: Vec<i64> = order[..6]
        .iter()
        .copied()
        .filter(|t| assigned[t] == agents[1].id)
        .collect();
    drop(sockets.remove(1));
    let offline = loop {
        let frame = watcher.next_of("availability").await;
        if frame["availability"] == "offline" {
            break frame;
        }
    };
    assert_eq!(offline["agent_id"], agents[1].id);
    let mut released = BTreeSet::new();
    while released.len() < 2 {
        let frame = watcher.next_of("released").await;
        if frame["agent_id"] == agents[1].id {
            released.insert(frame["thread_id"].as_i64().unwrap());
        }
    }
    assert_eq!(released, gone.iter().copied().collect());
    // The others are full; room for one more each, and the two go to them.
    for agent in [&agents[0], &agents[2]] {
        let (status, _) = send(
            &b,
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{}", agent.id),
            json!({"capacity": 3}),
            &admin.token,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let mut reassigned = BTreeMap::new();
    while reassigned.len() < 2 {
        let (t, agent) = next_assigned(&mut watcher).await;
        reassigned.insert(t, agent);
    }
    assert_eq!(
        reassigned.keys().copied().collect::<BTreeSet<_>>(),
        released
    );
    let to: BTreeSet<i64> = reassigned.values().copied().collect();
    assert_eq!(to, BTreeSet::from([agents[0].id, agents[2].id]));
    assert_eq!(holders(&a, &admin, &order[7..]).await[&order[7]], None);
}

on_single_redis_and_cluster!(three_agents_on_two_instances_share_eight_conversations_by_urgency,);
