//! A tiny pattern language over [`Tokens`], compiled once.
//!
//! A pattern is words separated by spaces:
//! - `fraud` matches that word; `disburs*` any word starting with `disburs`; `a|b*` either;
//!   `card_details` the two words in a row (an alternative of several words);
//! - `#` matches a number; `..` skips up to three words and `...` up to six;
//! - `!a|b` (not first) is a check that the next word is neither `a` nor `b*` (consumes nothing);
//! - `<!a|b` (first only) is a check that the previous word of the clause is neither.
//!
//! A whole match stays inside one clause. A *negatable* pattern does not count when one of
//! [`NEGATORS`] stands in the three words before it in its clause ("not fraud", "no urgent need",
//! "nothing stolen") or inside the match ("card is not lost").

use super::tokens::Tokens;

/// Words that negate what follows them within a short window.
pub(crate) const NEGATORS: &[&str] = &[
    "not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "without", "isnt",
    "wasnt", "arent", "werent", "dont", "doesnt", "didnt", "cant", "cannot", "wont", "havent",
    "hasnt", "hadnt", "shouldnt", "non",
];

/// How many words before a match a negator reaches.
const NEGATION_WINDOW: usize = 3;

/// One alternative: one or more words in a row, each exact or a stem.
#[derive(Debug)]
struct Alt {
    words: Vec<(&'static str, bool)>,
}

impl Alt {
    /// How many words it matches at `i` in `clause`, if it does.
    fn len_at(&self, tokens: &Tokens, i: usize, clause: u16) -> Option<usize> {
        self.words
            .iter()
            .enumerate()
            .all(|(k, &(text, prefix))| {
                let word = tokens.word(i + k);
                tokens.clause(i + k) == clause
                    && !word.is_empty()
                    && if prefix {
                        word.starts_with(text)
                    } else {
                        word == text
                    }
            })
            .then_some(self.words.len())
    }
}

/// How a pattern can start: the first words (exact or stems) it needs, or any number.
#[derive(Debug, Default)]
pub(crate) struct Start {
    /// Exact first words.
    pub exact: Vec<&'static str>,
    /// Stems of first words.
    pub stems: Vec<&'static str>,
    /// Starts with a number.
    pub number: bool,
}

#[derive(Debug)]
enum Step {
    Word(Vec<Alt>),
    Number,
    Gap(usize),
    NotNext(Vec<Alt>),
}

/// One compiled pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    not_after: Vec<Alt>,
    steps: Vec<Step>,
    negatable: bool,
}

fn alts(spec: &'static str) -> Vec<Alt> {
    spec.split('|')
        .filter(|a| !a.is_empty())
        .map(|a| Alt {
            words: a
                .split('_')
                .filter(|w| !w.is_empty())
                .map(|w| match w.strip_suffix('*') {
                    Some(stem) => (stem, true),
                    None => (w, false),
                })
                .collect(),
        })
        .collect()
}

fn any_matches(alts: &[Alt], tokens: &Tokens, i: usize, clause: u16) -> bool {
    alts.iter().any(|a| a.len_at(tokens, i, clause).is_some())
}

impl Pattern {
    /// Compiles `spec` (see the module's doc).
    pub fn compile(spec: &'static str, negatable: bool) -> Pattern {
        let mut not_after = Vec::new();
        let mut steps = Vec::new();
        for part in spec.split_whitespace() {
            if let Some(rest) = part.strip_prefix("<!") {
                not_after = alts(rest);
            } else if let Some(rest) = part.strip_prefix('!') {
                steps.push(Step::NotNext(alts(rest)));
            } else if part == "..." {
                steps.push(Step::Gap(6));
            } else if part == ".." {
                steps.push(Step::Gap(3));
            } else if part == "#" {
                steps.push(Step::Number);
            } else {
                steps.push(Step::Word(alts(part)));
            }
        }
        Pattern {
            not_after,
            steps,
            negatable,
        }
    }

    /// Whether the pattern occurs in `tokens` (and is not negated).
    #[cfg(test)]
    pub fn found_in(&self, tokens: &Tokens) -> bool {
        (0..tokens.len()).any(|i| self.matches_at(tokens, i))
    }

    /// What its first word must be (an index of patterns by first word skips the rest).
    pub fn start(&self) -> Start {
        let mut start = Start::default();
        match self.steps.first() {
            Some(Step::Word(alts)) => {
                for alt in alts {
                    if let Some(&(text, prefix)) = alt.words.first() {
                        if prefix {
                            start.stems.push(text);
                        } else {
                            start.exact.push(text);
                        }
                    }
                }
            }
            Some(Step::Number) => start.number = true,
            _ => {}
        }
        start
    }

    /// Whether the pattern matches from word `i` (and is not negated there).
    pub fn matches_at(&self, tokens: &Tokens, i: usize) -> bool {
        let clause = tokens.clause(i);
        let Some(end) = matches_from(&self.steps, tokens, i, clause) else {
            return false;
        };
        let same_clause_before = |k: usize| {
            i.checked_sub(k)
                .filter(|&j| tokens.clause(j) == clause)
                .map(|j| tokens.word(j))
        };
        if i > 0 && any_matches(&self.not_after, tokens, i - 1, clause) {
            return false;
        }
        // A negator before the match ("not fraud") or inside it ("card is not lost").
        if self.negatable
            && ((1..=NEGATION_WINDOW)
                .filter_map(same_clause_before)
                .any(|w| NEGATORS.contains(&w))
                || (i..end).any(|j| NEGATORS.contains(&tokens.word(j))))
        {
            return false;
        }
        true
    }
}

/// Where a match of `steps` from word `i` ends, if there is one.
fn matches_from(steps: &[Step], tokens: &Tokens, i: usize, clause: u16) -> Option<usize> {
    let Some((step, rest)) = steps.split_first() else {
        return Some(i);
    };
    match step {
        Step::Word(alts) => alts.iter().find_map(|a| {
            a.len_at(tokens, i, clause)
                .and_then(|n| matches_from(rest, tokens, i + n, clause))
        }),
        Step::Number => {
            let word = tokens.word(i);
            (tokens.clause(i) == clause
                && !word.is_empty()
                && word.bytes().all(|b| b.is_ascii_digit()))
            .then(|| matches_from(rest, tokens, i + 1, clause))
            .flatten()
        }
        Step::NotNext(alts) => (!any_matches(alts, tokens, i, clause))
            .then(|| matches_from(rest, tokens, i, clause))
            .flatten(),
        Step::Gap(max) => (0..=*max)
            .take_while(|&k| k == 0 || tokens.clause(i + k - 1) == clause)
            .find_map(|k| matches_from(rest, tokens, i + k, clause)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(spec: &'static str, negatable: bool, text: &str) -> bool {
        Pattern::compile(spec, negatable).found_in(&Tokens::new(text))
    }

    #[test]
    fn stems_gaps_and_numbers() {
        assert!(found("disburs*", false, "Disbursement late"));
        assert!(found(
            "stolen .. card|phone",
            false,
            "stolen my credit card"
        ));
        assert!(!found(
            "stolen .. card|phone",
            false,
            "stolen idea, card fine"
        ));
        assert!(found("# times", false, "debited 11 times"));
        assert!(found(
            "gave .. card_details|otp",
            false,
            "gave them my card details"
        ));
        assert!(!found(
            "gave .. card_details|otp",
            false,
            "gave them my card"
        ));
        assert!(found(
            "stolen|lost ... card",
            false,
            "lost my wallet with the old card"
        ));
    }

    #[test]
    fn negation_and_lookarounds() {
        assert!(!found("fraud*", true, "Not fraud, just a question"));
        assert!(found("fraud*", true, "no idea why, fraud on my card"));
        assert!(!found("urgent", true, "no urgent need"));
        assert!(!found("card .. lost", true, "my card is not lost"));
        assert!(!found("fraud* !prevention", false, "fraud prevention"));
        assert!(!found(
            "<!i|have blocked",
            false,
            "I have blocked your number"
        ));
        assert!(found("<!i|have blocked", false, "card blocked"));
    }
}
