//! Glob patterns for tags and runs, with Python's `fnmatch.fnmatchcase` rules: `*` matches any
//! run of characters (`/` included), `?` one character, `[seq]` one character of `seq`
//! (ranges `a-z`), `[!seq]` one character not in it; everything else matches itself.

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
    text: String,
}

impl Glob {
    /// Compiles `pattern` (any string is a valid pattern, as in `fnmatch`).
    pub fn new(pattern: &str) -> Self {
        Glob {
            pattern: pattern.chars().collect(),
            text: pattern.to_owned(),
        }
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        let s: Vec<char> = name.chars().collect();
        match_from(&self.pattern, &s)
    }
}

/// Whether any of `globs` matches `name`.
pub fn any_match(globs: &[Glob], name: &str) -> bool {
    globs.iter().any(|g| g.matches(name))
}

/// Iterative matching with backtracking to the last `*` (linear in practice).
fn match_from(p: &[char], s: &[char]) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, next)) = class(p, pi, s[si]) {
                        if ok {
                            pi = next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == '[' {
                        // An unclosed `[` matches itself, as in fnmatch.
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                c if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[at] == '['`: `(matched, index after ']')`, or
/// `None` when the class is not closed.
fn class(p: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negate = p.get(i) == Some(&'!');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &ch = p.get(i)?;
        if ch == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let hi = p[i + 2];
            if ch <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if ch == c {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn fnmatch_rules() {
        let m = |p: &str, s: &str| Glob::new(p).matches(s);
        assert!(m("loss", "loss"));
        assert!(!m("loss", "loss2"));
        assert!(m("train/*", "train/a/b"));
        assert!(m("*", ""));
        assert!(m("*loss*", "val/loss_x"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("metric/[0-2]", "metric/1"));
        assert!(!m("metric/[0-2]", "metric/3"));
        assert!(m("metric/[!0-2]", "metric/3"));
        assert!(m("x[]]", "x]"));
        assert!(m("a[b", "a[b"));
        assert!(m("*a*a*a", "aaaa"));
        assert!(!m("*a*a*b", "aaaa"));
    }
}
