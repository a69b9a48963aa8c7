//! What `/proc` says about a process: CPU time (user + system) and memory
//! (resident now, `VmRSS`, and its peak, `VmHWM`).

use std::process::Command;

use anyhow::{anyhow, Context, Result};
use serde::Serialize;

/// Clock ticks per second for `/proc/<pid>/stat`, from `getconf CLK_TCK`;
/// 100 (the Linux value on every common architecture) if that fails. The
/// flag says whether it was assumed.
pub fn clock_ticks() -> (u64, bool) {
    let measured = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&t| t > 0);
    match measured {
        Some(t) => (t, false),
        None => (100, true),
    }
}

/// utime + stime of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces: count fields after its ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("malformed /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let utime: u64 = fields.get(11).ok_or_else(|| anyhow!("no utime"))?.parse()?;
    let stime: u64 = fields.get(12).ok_or_else(|| anyhow!("no stime"))?.parse()?;
    Ok(utime + stime)
}

/// Resident memory of one process, in KiB.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident size since the process started.
    pub peak_kib: u64,
}

/// `VmRSS` and `VmHWM` of `pid` from `/proc/<pid>/status`.
pub fn memory(pid: u32) -> Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow!("no {name} in /proc/{pid}/status"))
    };
    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// Resets `VmHWM` of `pid` to its current resident size (writes 5 to
/// `/proc/<pid>/clear_refs`, Linux 4.0+; the bench's own children only),
/// so a later [`memory`] gives the peak since now. False if refused.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_and_memory_are_readable() {
        cpu_ticks(std::process::id()).unwrap();
        assert!(clock_ticks().0 > 0);
        let m = memory(std::process::id()).unwrap();
        assert!(m.rss_kib > 0 && m.peak_kib >= m.rss_kib);
    }
}
