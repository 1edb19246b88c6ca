//! Finding an item of the previous sample again: files and fields keep their order from one
//! scan to the next, so the item at the same place is tried first, and a map of every place
//! is built only when that misses in a long list.

use std::collections::HashMap;
use std::hash::Hash;

/// The engine's hash maps (of process ids, paths and series keys): foldhash, seeded per map,
/// where SipHash would cost hundreds of instructions a key.
pub(super) type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Lists up to this long are searched item by item when the same place misses.
const LINEAR: usize = 8;

/// Where keys are in a list (files by path, series by series key).
#[derive(Debug)]
pub(super) struct Places<K> {
    /// Every key's first place, once a miss in a long list asked for it.
    map: Option<Map<K, usize>>,
}

impl<K> Default for Places<K> {
    fn default() -> Self {
        Places { map: None }
    }
}

impl<K: Hash + Eq + Copy> Places<K> {
    /// The first place of `key` in a list of `len` items whose key at place `i` is `at(i)`
    /// (`None` for an item that does not count), trying `hint` first.
    pub(super) fn find(
        &mut self,
        len: usize,
        hint: usize,
        key: K,
        at: impl Fn(usize) -> Option<K>,
    ) -> Option<usize> {
        if hint < len && at(hint) == Some(key) {
            return Some(hint);
        }
        if let Some(map) = &self.map {
            return map.get(&key).copied();
        }
        if len <= LINEAR {
            return (0..len).find(|&i| at(i) == Some(key));
        }
        let mut map = Map::with_capacity_and_hasher(len, Default::default());
        for i in 0..len {
            if let Some(k) = at(i) {
                map.entry(k).or_insert(i);
            }
        }
        let found = map.get(&key).copied();
        self.map = Some(map);
        found
    }

    /// Notes that `key` was added to the list at place `i`.
    pub(super) fn add(&mut self, key: K, i: usize) {
        if let Some(map) = &mut self.map {
            map.entry(key).or_insert(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_at_the_hint_in_a_short_list_and_through_the_map_in_a_long_one() {
        let short = ["a", "b", "c"];
        let mut p = Places::default();
        let at = |i: usize| short.get(i).copied();
        assert_eq!(p.find(3, 1, "b", at), Some(1));
        assert_eq!(p.find(3, 0, "c", at), Some(2));
        assert_eq!(p.find(3, 0, "z", at), None);
        assert!(p.map.is_none(), "a short list needs no map");

        let long: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
        let mut p = Places::default();
        let at = |i: usize| long.get(i).map(String::as_str);
        assert_eq!(p.find(20, 3, "k3", at), Some(3));
        assert_eq!(p.find(20, 3, "k17", at), Some(17));
        assert_eq!(p.find(20, 0, "k99", at), None);
        p.add("k99", 20);
        assert_eq!(p.find(21, 0, "k99", at), Some(20));
    }

    #[test]
    fn an_item_that_does_not_count_is_never_found() {
        let keys = ["a", "b", "a"];
        let mut p = Places::default();
        // the first "a" does not count: the second one is found
        let at = |i: usize| (i != 0).then(|| keys[i]);
        assert_eq!(p.find(3, 0, "a", at), Some(2));
    }
}
