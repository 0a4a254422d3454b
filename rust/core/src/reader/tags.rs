//! Tag interning: each run's tags get dense local ids, found without hashing on the hot path.

use std::collections::HashMap;

use super::ReadOptions;

#[derive(Debug, Default, Clone)]
pub(super) struct TagSlot {
    pub(super) name: String,
    pub(super) wanted: bool,
    pub(super) has_metadata: bool,
    /// The metadata came with the tag's first record in this table (for the checks of a
    /// split file's parts).
    pub(super) meta_on_first: bool,
    pub(super) plugin: String,
    pub(super) content: Vec<u8>,
    pub(super) global: Option<u32>,
}

/// Interns tag bytes: a linear scan while there are few tags, a hash map after.
#[derive(Debug, Default, Clone)]
pub(super) struct LocalTags {
    pub(super) slots: Vec<TagSlot>,
    pub(super) keys: Vec<Box<[u8]>>,
    pub(super) map: HashMap<Box<[u8]>, u32>,
    pub(super) last: u32,
}

const LINEAR_TAGS: usize = 24;

/// Byte equality, without a call to `memcmp` for the short strings tags usually are: two
/// overlapping loads cover 4 to 16 bytes.
#[inline(always)]
fn short_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w8 = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let w4 = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes"));
    // Under 4 bytes and over 16, the plain comparison.
    match n {
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

impl LocalTags {
    /// The id of `tag`, interning it if new.
    #[inline(always)]
    pub(super) fn intern(&mut self, tag: &[u8], opts: &ReadOptions) -> u32 {
        match self.lookup(tag) {
            Some(id) => id,
            None => self.insert(tag, opts),
        }
    }

    /// The id of `tag`, if it is known.
    #[inline(always)]
    pub(super) fn lookup(&mut self, tag: &[u8]) -> Option<u32> {
        // Most files cycle through a few tags: try the one after the last hit first.
        let n = self.keys.len() as u32;
        if n > 0 {
            let guess = if self.last + 1 < n { self.last + 1 } else { 0 };
            if short_eq(&self.keys[guess as usize], tag) {
                self.last = guess;
                return Some(guess);
            }
        }
        self.lookup_slow(tag)
    }

    /// [`LocalTags::lookup`] when the guess missed: a linear scan while there are few tags,
    /// a hash map after.
    #[inline(never)]
    fn lookup_slow(&mut self, tag: &[u8]) -> Option<u32> {
        let found = if self.keys.len() <= LINEAR_TAGS {
            self.keys
                .iter()
                .position(|k| short_eq(k, tag))
                .map(|i| i as u32)
        } else {
            self.map.get(tag).copied()
        };
        if let Some(i) = found {
            self.last = i;
        }
        found
    }

    /// Interns a new tag.
    #[inline(never)]
    pub(super) fn insert(&mut self, tag: &[u8], opts: &ReadOptions) -> u32 {
        let name = String::from_utf8_lossy(tag).into_owned();
        let wanted = opts.tags.as_ref().is_none_or(|s| s.contains(&name));
        let id = self.keys.len() as u32;
        self.keys.push(tag.into());
        self.map.insert(tag.into(), id);
        self.slots.push(TagSlot {
            name,
            wanted,
            ..Default::default()
        });
        self.last = id;
        id
    }

    /// A table of the tags whose plugin is known (metadata seen), with it: what a part of a
    /// split file assumes at its start. Tags without metadata are left out, so that a part
    /// meeting one again interns it afresh, and its first metadata there can be checked.
    pub(super) fn with_metadata_only(&self) -> LocalTags {
        let mut t = LocalTags::default();
        for (slot, key) in self.slots.iter().zip(&self.keys) {
            if slot.has_metadata {
                t.map.insert(key.clone(), t.keys.len() as u32);
                t.keys.push(key.clone());
                t.slots.push(TagSlot {
                    global: None,
                    meta_on_first: false,
                    ..slot.clone()
                });
            }
        }
        t
    }
}
