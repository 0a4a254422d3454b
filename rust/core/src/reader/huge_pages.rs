//! Transparent huge pages for the reader's large output buffers.
//!
//! Reading a million scalars writes about 37 MB of fresh columns. With 4 KiB pages that is
//! some 9,000 page faults, which on a virtual machine cost as much as parsing the records.
//! Linux can back an anonymous mapping with 2 MiB pages instead, when asked with
//! `madvise(MADV_HUGEPAGE)` (the default `transparent_hugepage=madvise` setting only gives
//! them to regions that ask). [`advise`] asks for the part of a buffer's capacity that covers
//! whole 2 MiB pages; elsewhere, or when the kernel declines, nothing changes. The Python
//! binding uses it for the name columns it builds.

/// Buffers smaller than this are left alone (they cannot hold a whole aligned huge page).
const MIN_BYTES: usize = 2 << 20;

/// Asks the kernel to back the not-yet-touched capacity of `v` with huge pages.
///
/// Purely advisory: the contents and validity of `v` are unchanged whatever the answer.
pub fn advise<T>(v: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes < MIN_BYTES {
            return;
        }
        let start = v.as_mut_ptr() as usize;
        let lo = start.next_multiple_of(HUGE);
        let hi = (start + bytes) / HUGE * HUGE;
        if hi > lo {
            // SAFETY: [lo, hi) lies inside `v`'s allocation, which this function borrows
            // mutably; MADV_HUGEPAGE only changes how the kernel backs those pages, never
            // their contents, so no reference into `v` is invalidated. Errors are ignored.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advising_keeps_contents() {
        let mut v: Vec<u64> = Vec::with_capacity(1 << 20);
        v.extend(0..1000);
        advise(&mut v);
        v.extend(1000..(1 << 20));
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
        let mut small = vec![1u8; 10];
        advise(&mut small);
        assert_eq!(small, vec![1u8; 10]);
    }
}
