//! The results: figures and correctness checks, written as Markdown and JSON.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::machine::Machine;
use crate::stats::LatencySummary;

/// A goal from issue 7 that a figure is compared with (only meaningful on the full run).
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// `<=` or `>=`.
    pub op: &'static str,
    /// The bound.
    pub value: f64,
}

impl Target {
    /// At most `value`.
    pub fn at_most(value: f64) -> Self {
        Target { op: "<=", value }
    }

    /// At least `value`.
    pub fn at_least(value: f64) -> Self {
        Target { op: ">=", value }
    }

    fn met_by(&self, v: f64) -> bool {
        match self.op {
            "<=" => v <= self.value,
            _ => v >= self.value,
        }
    }
}

/// One measured number.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Which scenario measured it.
    pub scenario: String,
    /// What it is, e.g. `token send at 1000/s: p99`.
    pub name: String,
    /// The number.
    pub value: f64,
    /// Its unit, e.g. `ms`, `req/s`, `KiB`.
    pub unit: String,
    /// The goal, if issue 7 sets one.
    pub target: Option<Target>,
    /// Whether the goal was met (None without a goal).
    pub met: Option<bool>,
}

/// One pass/fail correctness check (these fail the run; figures never do).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Which scenario made it.
    pub scenario: String,
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// The numbers behind it.
    pub detail: String,
}

/// Everything one run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The machine it ran on.
    pub machine: Machine,
    /// `postgres+redis (2 instances)` or `embedded (1 instance)`.
    pub setup: String,
    /// `full` or `smoke`.
    pub profile: String,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// How long the run took, in seconds.
    pub elapsed_s: f64,
    /// The parameters used.
    pub parameters: serde_json::Value,
    /// Measured numbers.
    pub figures: Vec<Figure>,
    /// Correctness checks.
    pub checks: Vec<Check>,
    /// Scenarios that could not run to the end, with why.
    pub failures: Vec<String>,
    /// Remarks worth reading next to the numbers.
    pub notes: Vec<String>,
}

/// Collects a scenario's figures and checks.
#[derive(Debug, Default)]
pub struct Sink {
    scenario: String,
    /// The figures so far.
    pub figures: Vec<Figure>,
    /// The checks so far.
    pub checks: Vec<Check>,
    /// Remarks.
    pub notes: Vec<String>,
}

impl Sink {
    /// A sink for one scenario.
    pub fn new(scenario: &str) -> Self {
        Sink {
            scenario: scenario.to_owned(),
            ..Sink::default()
        }
    }

    /// Adds a figure.
    pub fn figure(
        &mut self,
        name: impl Into<String>,
        value: f64,
        unit: &str,
        target: Option<Target>,
    ) {
        let met = target.as_ref().map(|t| t.met_by(value));
        let name = name.into();
        tracing_line(&self.scenario, &name, value, unit);
        self.figures.push(Figure {
            scenario: self.scenario.clone(),
            name,
            value,
            unit: unit.to_owned(),
            target,
            met,
        });
    }

    /// Adds p50, p99 and max of a latency distribution, with optional goals for p50 and p99.
    pub fn latency(
        &mut self,
        what: &str,
        l: &LatencySummary,
        p50_target: Option<f64>,
        p99_target: Option<f64>,
    ) {
        self.figure(
            format!("{what}: p50"),
            l.p50_ms,
            "ms",
            p50_target.map(Target::at_most),
        );
        self.figure(
            format!("{what}: p99"),
            l.p99_ms,
            "ms",
            p99_target.map(Target::at_most),
        );
        self.figure(format!("{what}: max"), l.max_ms, "ms", None);
    }

    /// Adds a check.
    pub fn check(&mut self, name: impl Into<String>, passed: bool, detail: impl Into<String>) {
        let (name, detail) = (name.into(), detail.into());
        eprintln!(
            "[{}] check {}: {} ({detail})",
            self.scenario,
            name,
            if passed { "ok" } else { "FAILED" }
        );
        self.checks.push(Check {
            scenario: self.scenario.clone(),
            name,
            passed,
            detail,
        });
    }

    /// Adds a remark.
    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        eprintln!("[{}] note: {text}", self.scenario);
        self.notes.push(format!("{}: {text}", self.scenario));
    }
}

fn tracing_line(scenario: &str, name: &str, value: f64, unit: &str) {
    eprintln!("[{scenario}] {name} = {} {unit}", format_value(value));
}

fn format_value(v: f64) -> String {
    if (v == v.trunc() && v.abs() < 1e15) || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Report {
    /// Adds what a scenario collected.
    pub fn absorb(&mut self, sink: Sink) {
        self.figures.extend(sink.figures);
        self.checks.extend(sink.checks);
        self.notes.extend(sink.notes);
    }

    /// Whether every check passed and every scenario ran to the end.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The report as a Markdown document.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(md, "# Benchmark results ({} profile)\n", self.profile);
        let _ = writeln!(
            md,
            "- Machine: {} CPU(s), {}, {} MiB RAM, kernel {}",
            m.cpus, m.cpu_model, m.memory_mib, m.kernel
        );
        let _ = writeln!(md, "- Setup: {}", self.setup);
        let _ = writeln!(
            md,
            "- Started: {} (took {:.0} s)",
            self.started_at, self.elapsed_s
        );
        let _ = writeln!(md, "- Parameters: `{}`", self.parameters);
        if self.profile != "full" {
            let _ = writeln!(
                md,
                "- Targets are the issue's goals for the full run; a smoke run only proves the harness works."
            );
        }
        let _ = writeln!(md, "\n| Scenario | Figure | Value | Target | Met |");
        let _ = writeln!(md, "|---|---|---:|---|---|");
        for f in &self.figures {
            let target = f
                .target
                .as_ref()
                .map(|t| format!("{} {} {}", t.op, format_value(t.value), f.unit))
                .unwrap_or_default();
            let met = match f.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} {} | {} | {} |",
                f.scenario,
                f.name,
                format_value(f.value),
                f.unit,
                target,
                met
            );
        }
        let _ = writeln!(md, "\n| Scenario | Check | Result | Detail |");
        let _ = writeln!(md, "|---|---|---|---|");
        for c in &self.checks {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                c.scenario,
                c.name,
                if c.passed { "pass" } else { "**FAIL**" },
                c.detail
            );
        }
        if !self.failures.is_empty() {
            let _ = writeln!(md, "\n## Scenarios that did not finish\n");
            for f in &self.failures {
                let _ = writeln!(md, "- {f}");
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(md, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(md, "- {n}");
            }
        }
        md
    }

    /// Writes `results.md` and `results.json` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("results.md"), self.to_markdown())?;
        std::fs::write(
            dir.join("results.json"),
            serde_json::to_string_pretty(self)? + "\n",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            machine: Machine::default(),
            setup: "test".into(),
            profile: "smoke".into(),
            started_at: "now".into(),
            elapsed_s: 1.0,
            parameters: serde_json::json!({}),
            figures: vec![],
            checks: vec![],
            failures: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn a_failed_check_fails_the_report_and_shows_in_the_table() {
        let mut r = report();
        let mut sink = Sink::new("fanout");
        sink.figure("delivery: p99", 3.5, "ms", Some(Target::at_most(25.0)));
        sink.check("no gaps", false, "2 gaps");
        r.absorb(sink);
        assert!(!r.passed());
        let md = r.to_markdown();
        assert!(
            md.contains("| fanout | delivery: p99 | 3.50 ms | <= 25 ms | yes |"),
            "{md}"
        );
        assert!(
            md.contains("| fanout | no gaps | **FAIL** | 2 gaps |"),
            "{md}"
        );
    }

    #[test]
    fn a_missed_target_does_not_fail_the_report() {
        let mut r = report();
        let mut sink = Sink::new("queue");
        sink.figure("p99", 50.0, "ms", Some(Target::at_most(10.0)));
        r.absorb(sink);
        assert!(r.passed());
        assert_eq!(r.figures[0].met, Some(false));
    }
}
