//! Two network namespaces joined by a veth pair, the link shaped by `tc … tbf` on both ends (this kernel
//! has `tbf` but no `netem`: latency, stalls and cuts come from the shaping proxy, `tests/shaper`).
//! Addresses are `10.203.<net>.1/30` (side a) and `10.203.<net>.2/30` (side b). Everything is removed when
//! the [`NetPair`] is dropped. Needs root and `ip netns`; [`NetPair::create`] says why when it cannot.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::process::Command;

/// How to shape each end of the veth pair (token bucket filter).
#[derive(Debug, Clone, Copy)]
pub struct Tbf {
    /// Rate in kilobits per second.
    pub rate_kbit: u64,
    /// Bucket size in bytes.
    pub burst_bytes: u64,
    /// Longest a packet may wait in the queue, in milliseconds.
    pub latency_ms: u64,
}

/// Two namespaces and the veth pair between them.
pub struct NetPair {
    pub ns_a: String,
    pub ns_b: String,
    pub addr_a: Ipv4Addr,
    pub addr_b: Ipv4Addr,
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Why network namespaces cannot be used here (not root, no `ip netns`), or `None` when they can.
pub fn unavailable() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root: network namespaces need root".into());
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`ip netns` is unavailable: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("`ip` is not installed: {e}")),
    }
}

impl NetPair {
    /// Creates namespaces `okt<net>a` and `okt<net>b` (`net` in 0..=255 picks the /30), a veth pair
    /// between them, loopback up in both, and `tbf` on both ends when given. `Err` holds the reason to print
    /// when skipping.
    pub fn create(net: u8, tbf: Option<Tbf>) -> Result<NetPair, String> {
        if let Some(why) = unavailable() {
            return Err(why);
        }
        let pid = std::process::id() % 10000;
        let ns_a = format!("okt{net}a{pid}");
        let ns_b = format!("okt{net}b{pid}");
        let (va, vb) = (format!("okv{net}a{pid}"), format!("okv{net}b{pid}"));
        let addr_a = Ipv4Addr::new(10, 203, net, 1);
        let addr_b = Ipv4Addr::new(10, 203, net, 2);
        let pair = NetPair {
            ns_a: ns_a.clone(),
            ns_b: ns_b.clone(),
            addr_a,
            addr_b,
        };
        run(&["ip", "netns", "add", &ns_a])?;
        run(&["ip", "netns", "add", &ns_b])?;
        run(&[
            "ip", "link", "add", &va, "netns", &ns_a, "type", "veth", "peer", "name", &vb, "netns",
            &ns_b,
        ])?;
        for (ns, dev, addr) in [(&ns_a, &va, addr_a), (&ns_b, &vb, addr_b)] {
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/30"),
                "dev",
                dev,
            ])?;
            run(&["ip", "-n", ns, "link", "set", dev, "up"])?;
            run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
            if let Some(t) = tbf {
                run(&[
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "tc",
                    "qdisc",
                    "add",
                    "dev",
                    dev,
                    "root",
                    "tbf",
                    "rate",
                    &format!("{}kbit", t.rate_kbit),
                    "burst",
                    &t.burst_bytes.to_string(),
                    "latency",
                    &format!("{}ms", t.latency_ms),
                ])?;
            }
        }
        Ok(pair)
    }

    /// A command run inside namespace `ns` (`ip netns exec ns program …`).
    pub fn command(ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and so the pair.
        let _ = run(&["ip", "netns", "del", &self.ns_a]);
        let _ = run(&["ip", "netns", "del", &self.ns_b]);
    }
}
