//! The `-d stats` line.

use crate::Stats;

#[test]
fn stats_line_is_one_line_of_key_value_pairs() {
    let s = Stats {
        units_compiled: 7,
        compile_us_median: 41,
        guest_insns_executed: 123_456_789,
        flushes: 2,
        ..Stats::default()
    };
    let line = s.to_string();
    assert!(!line.contains('\n'));
    assert!(line.starts_with("stats: units_translated=0 units_compiled=7 "));
    let kv: Vec<(&str, &str)> = line["stats:".len()..]
        .split_whitespace()
        .map(|p| p.split_once('=').expect("key=value"))
        .collect();
    assert_eq!(kv.len(), 16);
    let get = |k: &str| kv.iter().find(|(x, _)| *x == k).map(|(_, v)| *v);
    assert_eq!(get("compile_us_median"), Some("41"));
    assert_eq!(get("guest_insns_executed"), Some("123456789"));
    assert_eq!(get("flushes"), Some("2"));
}
