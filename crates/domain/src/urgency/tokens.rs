//! A message as lowercase words grouped in clauses, plus the tone of its typing.
//!
//! Apostrophes inside a word are dropped (`can't` is `cant`, `it's` is `its`), so one spelling
//! covers both; clause breaks are sentence punctuation, commas, dashes between spaces and the word
//! `but`, so a negation never reaches across them (`not urgent, but stolen`).

/// A tokenised message: one lowercase buffer and the spans of its words.
pub(crate) struct Tokens {
    text: String,
    words: Vec<Word>,
    /// Most letters are capitals (and there are enough of them to mean it).
    pub shouting: bool,
    /// The longest run of `!` or `?`.
    pub punctuation_run: usize,
}

struct Word {
    start: usize,
    end: usize,
    clause: u16,
}

impl Tokens {
    /// Splits `body` into words and clauses.
    pub fn new(body: &str) -> Tokens {
        let mut text = String::with_capacity(body.len());
        let mut words: Vec<Word> = Vec::with_capacity(body.len() / 4 + 1);
        let (mut clause, mut start) = (0u16, None::<usize>);
        let (mut letters, mut capitals, mut run, mut longest) = (0usize, 0usize, 0usize, 0usize);
        let chars: Vec<char> = body.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
            let next = chars.get(i + 1).copied();
            if c == '!' || c == '?' {
                run += 1;
                longest = longest.max(run);
            } else {
                run = 0;
            }
            if c.is_alphanumeric() {
                if c.is_alphabetic() {
                    letters += 1;
                    if c.is_uppercase() {
                        capitals += 1;
                    }
                }
                // "40k", "3am", "10min": a number and its unit are two words.
                let unit_change = prev.is_some_and(|p| {
                    p.is_alphanumeric() && p.is_ascii_digit() != c.is_ascii_digit()
                });
                if unit_change {
                    if let Some(s) = start.take() {
                        words.push(Word {
                            start: s,
                            end: text.len(),
                            clause,
                        });
                    }
                }
                if start.is_none() {
                    start = Some(text.len());
                }
                text.extend(c.to_lowercase());
                continue;
            }
            let inside_word = start.is_some() && next.is_some_and(char::is_alphanumeric);
            if matches!(c, '\'' | '\u{2019}' | '\u{2018}') && inside_word {
                continue;
            }
            if let Some(s) = start.take() {
                words.push(Word {
                    start: s,
                    end: text.len(),
                    clause,
                });
            }
            let between_digits = prev.is_some_and(|p| p.is_ascii_digit())
                && next.is_some_and(|n| n.is_ascii_digit());
            let breaks = match c {
                '.' | ',' => !between_digits,
                '!' | '?' | ';' | ':' | '(' | ')' | '\n' | '|' | '\u{2013}' | '\u{2014}' => true,
                '-' => {
                    prev.is_some_and(char::is_whitespace) || next.is_some_and(char::is_whitespace)
                }
                _ => false,
            };
            if breaks && words.last().is_some_and(|w| w.clause == clause) {
                clause = clause.saturating_add(1);
            }
        }
        if let Some(s) = start {
            words.push(Word {
                start: s,
                end: text.len(),
                clause,
            });
        }
        // "but" opens a new clause: what comes after it is not negated by what came before.
        let mut shift = 0u16;
        for i in 0..words.len() {
            if &text[words[i].start..words[i].end] == "but" && i > 0 {
                shift = shift.saturating_add(1);
            }
            words[i].clause = words[i].clause.saturating_add(shift);
        }
        Tokens {
            text,
            words,
            shouting: letters >= 12 && capitals * 10 >= letters * 7,
            punctuation_run: longest,
        }
    }

    /// How many words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// The `i`th word, lowercase ("" past the end).
    pub fn word(&self, i: usize) -> &str {
        self.words
            .get(i)
            .map_or("", |w| self.text.get(w.start..w.end).unwrap_or(""))
    }

    /// The clause of the `i`th word (`u16::MAX` past the end).
    pub fn clause(&self, i: usize) -> u16 {
        self.words.get(i).map_or(u16::MAX, |w| w.clause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercase_without_apostrophes_and_clauses_break_at_punctuation_and_but() {
        let t = Tokens::new("Can't LOGIN, it's 2,50,000 - but fine");
        let words: Vec<&str> = (0..t.len()).map(|i| t.word(i)).collect();
        assert_eq!(
            words,
            ["cant", "login", "its", "2", "50", "000", "but", "fine"]
        );
        assert_eq!(t.clause(0), t.clause(1));
        assert_ne!(t.clause(1), t.clause(2));
        assert_eq!(t.clause(2), t.clause(5), "digit groups stay in one clause");
        assert!(t.clause(6) > t.clause(5));
    }

    #[test]
    fn capitals_are_shouting_only_when_most_letters_are() {
        assert!(Tokens::new("WHERE IS MY MONEY, ANSWER ME").shouting);
        assert!(!Tokens::new("Where is my UPI money?").shouting);
        assert_eq!(Tokens::new("hello???").punctuation_run, 3);
    }
}
