//! Per-device hash chains: finds gaps, broken links, reordering, duplicates and bad starts in envelope headers.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::envelope::GENESIS_PREV;

/// The last envelope of a device that a hub has accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainHead {
    /// Its seq.
    pub seq: u64,
    /// Its header hash.
    pub hash: String,
}

/// One thing wrong with a run of envelope headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "issue", rename_all = "snake_case")]
pub enum ChainIssue {
    /// Envelopes `from..=to` are missing.
    Gap {
        /// First missing seq.
        from: u64,
        /// Last missing seq.
        to: u64,
    },
    /// The envelope's `prev` is not the hash of envelope `seq - 1`.
    BrokenLink {
        /// The envelope whose `prev` is wrong.
        seq: u64,
    },
    /// The envelope comes after one with a higher seq.
    OutOfOrder {
        /// Its seq.
        seq: u64,
    },
    /// A second envelope with a seq already seen in the slice.
    Duplicate {
        /// The repeated seq.
        seq: u64,
    },
    /// The chain does not start properly: seq 0, or seq 1 whose `prev` is not [`GENESIS_PREV`].
    BadStart {
        /// The first seq.
        seq: u64,
    },
}

impl fmt::Display for ChainIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainIssue::Gap { from, to } if from == to => write!(f, "envelope {from} is missing"),
            ChainIssue::Gap { from, to } => write!(f, "envelopes {from} to {to} are missing"),
            ChainIssue::BrokenLink { seq } => {
                write!(
                    f,
                    "envelope {seq} does not link to the envelope before it (prev hash differs)"
                )
            }
            ChainIssue::OutOfOrder { seq } => write!(f, "envelope {seq} is out of order"),
            ChainIssue::Duplicate { seq } => write!(f, "envelope {seq} appears more than once"),
            ChainIssue::BadStart { seq } => {
                write!(f, "the chain does not start properly at envelope {seq}")
            }
        }
    }
}

/// Checks a run of headers given as `(seq, prev, hash)` in the order received.
///
/// Order problems are reported first: an entry whose seq is not above every earlier seq is `Duplicate` (seq
/// seen before) or `OutOfOrder`. Then the distinct seqs, sorted (first occurrence of each), are checked for
/// gaps and links, and the first one against `known` (or against the genesis when `known` is `None`).
/// Seqs at or below `known.seq` are not compared with `known`: overlap is the caller's business.
pub fn check_chain(
    known: Option<&ChainHead>,
    headers: &[(u64, String, String)],
) -> Vec<ChainIssue> {
    let mut issues = Vec::new();
    let mut first_of: BTreeMap<u64, (&str, &str)> = BTreeMap::new();
    let mut max_seen: Option<u64> = None;
    for (seq, prev, hash) in headers {
        if max_seen.is_some_and(|m| *seq <= m) {
            if first_of.contains_key(seq) {
                issues.push(ChainIssue::Duplicate { seq: *seq });
            } else {
                issues.push(ChainIssue::OutOfOrder { seq: *seq });
            }
        }
        max_seen = Some(max_seen.map_or(*seq, |m| m.max(*seq)));
        first_of
            .entry(*seq)
            .or_insert((prev.as_str(), hash.as_str()));
    }
    let Some((&first, &(first_prev, _))) = first_of.iter().next() else {
        return issues;
    };
    match known {
        // A head at u64::MAX has no successor: nothing to compare (and no overflow on hostile input).
        Some(h) => match h.seq.checked_add(1) {
            Some(next) if first == next && first_prev != h.hash => {
                issues.push(ChainIssue::BrokenLink { seq: first });
            }
            Some(next) if first > next => {
                issues.push(ChainIssue::Gap {
                    from: next,
                    to: first - 1,
                });
            }
            _ => {}
        },
        None => {
            if first == 0 || (first == 1 && first_prev != GENESIS_PREV) {
                issues.push(ChainIssue::BadStart { seq: first });
            } else if first > 1 {
                issues.push(ChainIssue::Gap {
                    from: 1,
                    to: first - 1,
                });
            }
        }
    }
    let sorted: Vec<(u64, &str, &str)> = first_of.iter().map(|(s, (p, h))| (*s, *p, *h)).collect();
    for pair in sorted.windows(2) {
        let (a_seq, _, a_hash) = pair[0];
        let (b_seq, b_prev, _) = pair[1];
        if b_seq == a_seq + 1 {
            if b_prev != a_hash {
                issues.push(ChainIssue::BrokenLink { seq: b_seq });
            }
        } else {
            issues.push(ChainIssue::Gap {
                from: a_seq + 1,
                to: b_seq - 1,
            });
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-linked chain of `n` headers starting at seq 1; hash of seq k is "h{k}".
    fn chain(n: u64) -> Vec<(u64, String, String)> {
        (1..=n)
            .map(|s| {
                let prev = if s == 1 {
                    GENESIS_PREV.to_string()
                } else {
                    format!("h{}", s - 1)
                };
                (s, prev, format!("h{s}"))
            })
            .collect()
    }

    /// Regression: found by the `chain` fuzz target (protocol/fuzz, crash-a9b26e8c…): a known head at
    /// u64::MAX made `h.seq + 1` overflow (a panic in debug builds, a wrong gap in release ones).
    #[test]
    fn a_head_at_the_largest_seq_does_not_overflow() {
        let head = ChainHead {
            seq: u64::MAX,
            hash: "h0".into(),
        };
        let headers = vec![
            (2, "h252".to_string(), "h37".to_string()),
            (3, GENESIS_PREV.to_string(), "h104".to_string()),
        ];
        // Both are at or below the head: overlap is the caller's business, the link 2→3 is broken.
        assert_eq!(
            check_chain(Some(&head), &headers),
            vec![ChainIssue::BrokenLink { seq: 3 }]
        );
        assert!(check_chain(Some(&head), &[(u64::MAX, "x".into(), "y".into())]).is_empty());
    }

    #[test]
    fn good_chain_from_genesis() {
        assert!(check_chain(None, &chain(5)).is_empty());
        assert!(check_chain(None, &[]).is_empty());
    }

    #[test]
    fn good_continuation() {
        let c = chain(5);
        let head = ChainHead {
            seq: 2,
            hash: "h2".into(),
        };
        assert!(check_chain(Some(&head), &c[2..]).is_empty());
    }

    #[test]
    fn gap_inside_slice() {
        let mut c = chain(6);
        c.remove(2);
        c.remove(2); // seqs 3 and 4 gone
        assert_eq!(
            check_chain(None, &c),
            vec![ChainIssue::Gap { from: 3, to: 4 }]
        );
    }

    #[test]
    fn gap_after_known_head_and_from_genesis() {
        let c = chain(6);
        let head = ChainHead {
            seq: 2,
            hash: "h2".into(),
        };
        assert_eq!(
            check_chain(Some(&head), &c[4..]),
            vec![ChainIssue::Gap { from: 3, to: 4 }]
        );
        assert_eq!(
            check_chain(None, &c[3..]),
            vec![ChainIssue::Gap { from: 1, to: 3 }]
        );
    }

    #[test]
    fn broken_link_inside_and_at_known_head() {
        let mut c = chain(4);
        c[2].1 = "forged".into();
        assert_eq!(
            check_chain(None, &c),
            vec![ChainIssue::BrokenLink { seq: 3 }]
        );
        let c = chain(4);
        let head = ChainHead {
            seq: 2,
            hash: "other".into(),
        };
        assert_eq!(
            check_chain(Some(&head), &c[2..]),
            vec![ChainIssue::BrokenLink { seq: 3 }]
        );
    }

    #[test]
    fn reorder() {
        let mut c = chain(4);
        c.swap(1, 2); // 1,3,2,4
        assert_eq!(
            check_chain(None, &c),
            vec![ChainIssue::OutOfOrder { seq: 2 }]
        );
    }

    #[test]
    fn duplicate() {
        let mut c = chain(3);
        c.insert(2, c[1].clone()); // 1,2,2,3
        assert_eq!(
            check_chain(None, &c),
            vec![ChainIssue::Duplicate { seq: 2 }]
        );
    }

    #[test]
    fn bad_start() {
        let mut c = chain(2);
        c[0].1 = "not-genesis".into();
        assert_eq!(check_chain(None, &c), vec![ChainIssue::BadStart { seq: 1 }]);
        let zero = vec![(0, GENESIS_PREV.to_string(), "h0".to_string())];
        assert_eq!(
            check_chain(None, &zero),
            vec![ChainIssue::BadStart { seq: 0 }]
        );
    }

    #[test]
    fn display_is_readable() {
        assert_eq!(
            ChainIssue::Gap { from: 3, to: 4 }.to_string(),
            "envelopes 3 to 4 are missing"
        );
        assert_eq!(
            ChainIssue::Gap { from: 3, to: 3 }.to_string(),
            "envelope 3 is missing"
        );
        assert_eq!(
            ChainIssue::Duplicate { seq: 2 }.to_string(),
            "envelope 2 appears more than once"
        );
    }
}
