//! The recorded process tree: a root process and every descendant, read from `/proc`.

use std::collections::{BTreeMap, HashMap};

use mmstats_format::StatLine;

/// One process of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// Its state letter (`R`, `S`, `Z` for a zombie, ...).
    pub state: char,
    /// Its parent.
    pub ppid: u32,
    /// Its command name (`/proc/<pid>/comm`).
    pub comm: String,
    /// Start time in clock ticks after boot (field 22 of `/proc/<pid>/stat`): with the pid it
    /// names the process even when pids are reused.
    pub start_time: u64,
}

/// The processes of a tree at one moment.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// The processes, by pid.
    pub procs: BTreeMap<u32, Proc>,
}

/// Reads the tree again and again cheaply: each time it lists `/proc` but reads the `stat`
/// of new pids only, and every [`TreeReader::REREAD`]th time the `stat` of every process (so
/// that a parent that changed, or a pid reused between two listings, is noticed within that
/// many reads).
#[derive(Debug, Default)]
pub struct TreeReader {
    known: HashMap<u32, Proc>,
    reads: u32,
}

impl TreeReader {
    /// Every this many reads, every process's `stat` is read afresh.
    pub const REREAD: u32 = 10;

    /// A reader that knows no process yet.
    pub fn new() -> TreeReader {
        TreeReader::default()
    }

    /// The tree under `root`, as [`Tree::read`] gives it.
    pub fn read(&mut self, root: u32, adopter: Option<u32>) -> Tree {
        if self.reads.is_multiple_of(Self::REREAD) {
            self.known = read_all();
        } else {
            let mut known = std::mem::take(&mut self.known);
            let mut now = HashMap::with_capacity(known.len());
            for pid in list_pids() {
                let p = match known.remove(&pid) {
                    Some(p) => Some(p),
                    None => read_one(pid),
                };
                if let Some(p) = p {
                    now.insert(pid, p);
                }
            }
            self.known = now;
        }
        self.reads = self.reads.wrapping_add(1);
        // The root's own state decides when recording ends: always read it afresh.
        if let Some(p) = read_one(root) {
            self.known.insert(root, p);
        } else {
            self.known.remove(&root);
        }
        Tree::from_all(&self.known, root, adopter)
    }
}

impl Tree {
    /// The tree under `root` (inclusive) as `/proc` shows it now; processes whose parent is
    /// `adopter` (runstats as child subreaper, which adopts orphans of the tree) count too,
    /// except `adopter` itself. Empty when `root` is gone and nothing was adopted.
    pub fn read(root: u32, adopter: Option<u32>) -> Tree {
        Tree::from_all(&read_all(), root, adopter)
    }

    fn from_all(all: &HashMap<u32, Proc>, root: u32, adopter: Option<u32>) -> Tree {
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for (&pid, p) in all {
            children.entry(p.ppid).or_default().push(pid);
        }
        let mut procs = BTreeMap::new();
        let mut todo = Vec::new();
        if all.contains_key(&root) {
            todo.push(root);
        }
        if let Some(a) = adopter {
            todo.extend(
                children
                    .get(&a)
                    .into_iter()
                    .flatten()
                    .filter(|p| **p != root),
            );
        }
        while let Some(pid) = todo.pop() {
            let Some(p) = all.get(&pid) else { continue };
            if procs.insert(pid, p.clone()).is_some() {
                continue;
            }
            todo.extend(children.get(&pid).into_iter().flatten());
        }
        Tree { procs }
    }

    /// Whether `pid` is in the tree.
    pub fn contains(&self, pid: u32) -> bool {
        self.procs.contains_key(&pid)
    }

    /// The name a process is stored under: `comm:pid`.
    pub fn process_name(&self, pid: u32) -> String {
        match self.procs.get(&pid) {
            Some(p) => format!("{}:{pid}", p.comm),
            None => format!("?:{pid}"),
        }
    }
}

/// One process as `/proc` shows it now, if it exists.
pub fn read_one(pid: u32) -> Option<Proc> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Whether `pid` is in the foreground process group of its controlling terminal (fields 5
/// and 8 of `/proc/<pid>/stat`): then a Ctrl-C typed there reaches every process of its
/// group, the children it did not move to another group included.
pub fn in_terminal_foreground(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(line) = StatLine::parse(&stat) else {
        return false;
    };
    let field = |n: usize| line.number::<i64>(n);
    matches!((field(5), field(8)), (Some(pgrp), Some(tpgid)) if tpgid > 0 && tpgid == pgrp)
}

/// The thread ids of a process (`/proc/<pid>/task`).
pub fn threads(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The pids `/proc` lists now.
fn list_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .collect()
}

fn read_all() -> HashMap<u32, Proc> {
    // A process may exit between listing and reading: then it is simply not there.
    list_pids()
        .into_iter()
        .filter_map(|pid| Some((pid, read_one(pid)?)))
        .collect()
}

/// Parses a `/proc/<pid>/stat` line ([`StatLine`]): state is field 3, ppid field 4, start
/// time field 22 (the fields after it are not split).
fn parse_stat(stat: &str) -> Option<Proc> {
    let line = StatLine::parse_to(stat, 22)?;
    Some(Proc {
        state: line.field(3)?.chars().next()?,
        ppid: line.number(4)?,
        comm: line.comm().to_string(),
        start_time: line.number(22)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let line = "1234 (we ird) (x) S 77 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        let p = parse_stat(line).unwrap();
        assert_eq!(p.ppid, 77);
        assert_eq!(p.state, 'S');
        assert_eq!(p.comm, "we ird) (x");
        assert_eq!(p.start_time, 98765);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn our_tree_holds_our_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = std::process::id();
        let tree = Tree::read(me, None);
        assert!(tree.contains(me));
        assert!(tree.contains(child.id()), "{tree:?}");
        assert_eq!(
            tree.process_name(child.id()),
            format!("sleep:{}", child.id())
        );
        assert!(!threads(me).is_empty());
        // tests run without a terminal
        assert!(
            !in_terminal_foreground(child.id())
                || std::io::IsTerminal::is_terminal(&std::io::stdin())
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!Tree::read(child.id(), None).contains(child.id()));
    }

    #[test]
    fn the_caching_reader_sees_new_and_gone_children() {
        let me = std::process::id();
        let mut reader = TreeReader::new();
        reader.read(me, None);
        reader.read(me, None);
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        // not a re-reading turn: the new pid is read because it is new
        assert!(reader.read(me, None).contains(child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!reader.read(me, None).contains(child.id()));
        assert!(reader.read(me, None).contains(me));
    }
}
