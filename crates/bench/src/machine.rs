//! What the run happened on, and the per-process numbers read from /proc.

use serde::Serialize;

/// The machine, as `nproc`, `lscpu` and /proc describe it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    /// Logical CPUs available.
    pub cpus: usize,
    /// The CPU model name.
    pub cpu_model: String,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// Kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads the machine description (missing pieces stay empty).
    pub fn detect() -> Self {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let memory_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| kib_field(&s, "MemTotal:"))
            .map(|kib| kib / 1024)
            .unwrap_or(0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        Machine {
            cpus,
            cpu_model,
            memory_mib,
            kernel,
        }
    }
}

/// The 1, 5 and 15 minute load averages (how busy the shared machine was).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The machine's CPU counters from /proc/stat: (busy, total) clock ticks over all cores.
pub fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    // idle + iowait
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// How busy all cores were between two [`machine_ticks`] readings, in percent.
pub fn busy_percent(before: (u64, u64), after: (u64, u64)) -> f64 {
    let busy = after.0.saturating_sub(before.0) as f64;
    let total = after.1.saturating_sub(before.1) as f64;
    if total > 0.0 {
        100.0 * busy / total
    } else {
        0.0
    }
}

/// The resident set size (VmRSS) of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    kib_field(&status, "VmRSS:")
}

/// CPU time (user + system) a process has used so far, in clock ticks (1/100 s on Linux).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Raises this process's soft open-file limit to its hard limit (with `prlimit`, so no unsafe
/// code), and returns the soft limit now in force.
pub fn raise_nofile_limit() -> Option<u64> {
    let pid = std::process::id().to_string();
    let hard = nofile_limit(&pid, "--hard")?;
    let _ = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
        .status();
    nofile_limit(&pid, "--soft")
}

/// The hard open-file limit of this process.
pub fn hard_nofile_limit() -> Option<u64> {
    nofile_limit(&std::process::id().to_string(), "--hard")
}

fn nofile_limit(pid: &str, which: &str) -> Option<u64> {
    let out = std::process::Command::new("prlimit")
        .args([
            "--pid",
            pid,
            "--nofile",
            "--noheadings",
            "--raw",
            "--output",
            &which[2..].to_uppercase(),
        ])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_rss_and_cpu_time() {
        let pid = std::process::id();
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(cpu_ticks(pid).is_some());
    }

    #[test]
    fn the_machine_is_somewhere_between_idle_and_busy() {
        let before = machine_ticks();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        let busy = busy_percent(before, machine_ticks());
        assert!((0.0..=100.0).contains(&busy), "{busy}");
    }

    #[test]
    fn the_open_file_limit_is_at_least_what_it_was() {
        let before = nofile_limit(&std::process::id().to_string(), "--soft").unwrap();
        assert!(raise_nofile_limit().unwrap() >= before);
    }
}
