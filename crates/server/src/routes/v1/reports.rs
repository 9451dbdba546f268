//! Reports for staff: the desk's figures over a time range (`chat_domain::report`).

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chat_domain::report::{GroupBy, ReportRange};
use chat_domain::{Chat, DomainError, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::Required;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::views::ErrorBody;

/// A report's range: `from` (included) and `to` (excluded), RFC 3339; by default the 7 days
/// up to now.
#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    /// First instant included.
    pub from: Option<String>,
    /// First instant excluded.
    pub to: Option<String>,
    /// day, agent, type or label.
    pub group_by: Option<String>,
}

fn time_param(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        ))
        .build()
}

fn range_params() -> Vec<Parameter> {
    vec![
        time_param(
            "from",
            "First instant included (RFC 3339; default: 7 days before `to`).",
        ),
        time_param(
            "to",
            "First instant excluded (RFC 3339; default: now). Not after `from`: an empty range, no rows.",
        ),
    ]
}

/// `from` and `to` of a report.
pub struct ReportRangeParams;

impl IntoParams for ReportRangeParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        range_params()
    }
}

/// `from`, `to` and `group_by` of the summary.
pub struct SummaryParams;

impl IntoParams for SummaryParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = range_params();
        params.push(
            ParameterBuilder::new()
                .name("group_by")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "day (UTC), agent, type or label (default day). By label: one row per label (key its id, name its name), a conversation with two labels counts in both, one without any in `none`.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["day", "agent", "type", "label"])),
                ))
                .build(),
        );
        params
    }
}

fn instant(field: &'static str, text: Option<&str>) -> Result<Option<Timestamp>, DomainError> {
    text.map(|t| {
        Timestamp::parse_rfc3339(t)
            .ok_or_else(|| DomainError::invalid(field, "expected an RFC 3339 date-time"))
    })
    .transpose()
}

fn range(query: &RangeQuery, now: Timestamp) -> Result<ReportRange, DomainError> {
    let to = instant("to", query.to.as_deref())?.unwrap_or(now);
    let from =
        instant("from", query.from.as_deref())?.unwrap_or_else(|| to.plus_millis(-7 * 86_400_000));
    Ok(ReportRange::new(from, to))
}

/// One group of the summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryRowView {
    /// The group: `2026-11-30`, an agent id (`none`: no agent), a thread type, or a label id
    /// (`none`: no label).
    pub key: String,
    /// A name to show: the agent's username or the label's name, else the key.
    pub name: String,
    /// Conversations opened.
    pub opened: u64,
    /// Conversations resolved.
    pub resolved: u64,
    /// First response seconds, median (exact up to 1,000 values behind the report's
    /// percentiles, else within 1/21 (4.8 %) of it: see the route).
    pub first_response_p50_seconds: Option<f64>,
    /// First response seconds, 90th percentile.
    pub first_response_p90_seconds: Option<f64>,
    /// Resolution seconds, median.
    pub resolution_p50_seconds: Option<f64>,
    /// Resolution seconds, 90th percentile.
    pub resolution_p90_seconds: Option<f64>,
    /// SLA clocks with a target that ended.
    pub sla_measured: u64,
    /// Share of them that met it (0 to 1).
    pub sla_met_share: Option<f64>,
    /// Average rating (1 to 5).
    pub rating_average: Option<f64>,
    /// How many ratings.
    pub rating_count: u64,
}

/// The summary report.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    /// Start of the range.
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    /// End of the range (excluded).
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    /// day, agent, type or label.
    pub group_by: String,
    /// One per group with any figure, by key.
    pub rows: Vec<SummaryRowView>,
}

/// One agent's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentReportView {
    /// The agent.
    #[schema(value_type = i64)]
    pub agent_id: UserId,
    /// The agent's username.
    pub username: String,
    /// Conversations under the agent's claim now.
    pub held: u64,
    /// Resolutions in the range where the agent held the conversation last.
    pub resolved: u64,
    /// Responses (first and next) in the range.
    pub responses: u64,
    /// Response seconds, median (exact up to 1,000 responses in the report, else within 1/21
    /// (4.8 %) of it: see the route).
    pub response_p50_seconds: Option<f64>,
    /// Response seconds, 90th percentile.
    pub response_p90_seconds: Option<f64>,
    /// Average rating.
    pub rating_average: Option<f64>,
    /// How many ratings.
    pub rating_count: u64,
}

/// The agents report.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentsReportView {
    /// Start of the range.
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    /// End of the range (excluded).
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    /// One per agent with any figure, by id.
    pub agents: Vec<AgentReportView>,
}

/// The desk's figures over a range, grouped by UTC day, agent, thread type or label.
///
/// Counts, shares and ratings are exact. Percentiles follow `percentile_cont` (linear between
/// the two values around the position), rounded to the millisecond: exact while the report has
/// at most 1,000 values behind them (first responses and resolutions over every row); above
/// that they are computed from log-spaced buckets (one second wide up to 19 s, then 10 % of
/// their lower bound) and are within 1/21 (4.8 %) of the exact figure.
#[utoipa::path(get, path = "/api/v1/reports/summary", tag = "reports", params(SummaryParams),
    responses((status = 200, body = SummaryView), (status = 403, body = ErrorBody, description = "not staff"),
        (status = 422, body = ErrorBody, description = "`invalid`: `from`/`to` not an RFC 3339 date-time, or `group_by` not day, agent, type or label")),
    security(("bearer" = [])))]
pub async fn summary(
    chat: web::Data<Chat>,
    caller: Authenticated,
    query: web::Query<RangeQuery>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let query = query.into_inner();
    let (view, ids) = blocking(move || {
        let range = range(&query, chat.now())?;
        let group_by = GroupBy::parse(query.group_by.as_deref().unwrap_or("day"))?;
        let rows = chat.report_summary(&caller.user, range, group_by)?;
        let names: HashMap<String, String> = match group_by {
            GroupBy::Agent => {
                let ids: Vec<UserId> = rows
                    .iter()
                    .filter_map(|r| r.key.parse().ok().map(UserId))
                    .collect();
                chat.store()
                    .usernames(&ids)?
                    .into_iter()
                    .map(|(id, name)| (id.0.to_string(), name))
                    .collect()
            }
            GroupBy::Label => chat
                .labels(&caller.user)?
                .into_iter()
                .map(|l| (l.id.0.to_string(), l.name))
                .collect(),
            GroupBy::Day | GroupBy::Type => HashMap::new(),
        };
        Ok(((range, group_by, rows), names))
    })
    .await?;
    let ((range, group_by, rows), names) = (view, ids);
    let rows = rows
        .into_iter()
        .map(|r| SummaryRowView {
            name: names.get(&r.key).cloned().unwrap_or_else(|| r.key.clone()),
            opened: r.opened,
            resolved: r.resolved,
            first_response_p50_seconds: r.first_response.p50,
            first_response_p90_seconds: r.first_response.p90,
            resolution_p50_seconds: r.resolution.p50,
            resolution_p90_seconds: r.resolution.p90,
            sla_measured: r.sla_measured,
            sla_met_share: r.sla_met_share(),
            rating_average: r.rating_average(),
            rating_count: r.rating_count,
            key: r.key,
        })
        .collect();
    Ok(HttpResponse::Ok().json(SummaryView {
        from: range.from,
        to: range.to,
        group_by: group_by.as_str().to_owned(),
        rows,
    }))
}

/// Each agent's figures over a range: held now, resolved, response times, rating.
///
/// Counts and ratings are exact. Response percentiles are exact while the report has at most
/// 1,000 responses; above that they come from log-spaced buckets and are within 1/21 (4.8 %) of
/// the exact figure.
#[utoipa::path(get, path = "/api/v1/reports/agents", tag = "reports", params(ReportRangeParams),
    responses((status = 200, body = AgentsReportView), (status = 403, body = ErrorBody, description = "not staff"),
        (status = 422, body = ErrorBody, description = "`invalid`: `from`/`to` not an RFC 3339 date-time")),
    security(("bearer" = [])))]
pub async fn agents(
    chat: web::Data<Chat>,
    caller: Authenticated,
    query: web::Query<RangeQuery>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let query = query.into_inner();
    let (range, rows, names): (ReportRange, _, HashMap<UserId, String>) = blocking(move || {
        let range = range(&query, chat.now())?;
        let rows = chat.report_agents(&caller.user, range)?;
        let ids: Vec<UserId> = rows.iter().map(|r| r.agent_id).collect();
        let names = chat.store().usernames(&ids)?;
        Ok((range, rows, names))
    })
    .await?;
    Ok(HttpResponse::Ok().json(AgentsReportView {
        from: range.from,
        to: range.to,
        agents: rows
            .into_iter()
            .map(|r| AgentReportView {
                username: names.get(&r.agent_id).cloned().unwrap_or_default(),
                held: r.held,
                resolved: r.resolved,
                responses: r.responses,
                response_p50_seconds: r.response.p50,
                response_p90_seconds: r.response.p90,
                rating_average: r.rating_average(),
                rating_count: r.rating_count,
                agent_id: r.agent_id,
            })
            .collect(),
    }))
}
