//! Tolerant reading of a judge's text: what a model that was asked for a verdict writes
//! when nothing forces its form. Each reader either finds the verdict or says why not;
//! none guesses (a text with two different answers on its last line is not read).

use serde_json::Value;

/// The JSON object a text carries, in the order models write them: the whole text, the
/// last fenced block (```json ... ``` or ``` ... ```), the last balanced `{...}` that parses
/// (a trailing object after some prose). With the text before it, which is the model's
/// reasoning when it wrote some.
pub(crate) fn json_object(text: &str) -> Option<(Value, &str)> {
    let trimmed = text.trim();
    if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(trimmed) {
        return Some((value, ""));
    }
    if let Some(found) = fenced(text) {
        return Some(found);
    }
    trailing_object(text)
}

/// The last fenced code block whose body is a JSON object.
fn fenced(text: &str) -> Option<(Value, &str)> {
    let mut best = None;
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        // The info string (`json`, `JSON`, nothing) runs to the end of the line.
        let body_start = after.find('\n').map_or(after.len(), |i| i + 1);
        let body = &after[body_start..];
        let Some(close) = body.find("```") else { break };
        if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(body[..close].trim()) {
            best = Some((value, &text[..offset + open]));
        }
        let consumed = open + 3 + body_start + close + 3;
        offset += consumed;
        rest = &rest[consumed..];
    }
    best
}

/// The last `{ ... }` of the text that parses as a JSON object, scanning from the left so
/// that an object nested in another is not taken for it.
fn trailing_object(text: &str) -> Option<(Value, &str)> {
    let mut best = None;
    let mut from = 0;
    while let Some(i) = text[from..].find('{').map(|i| from + i) {
        let mut values = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
        match values.next() {
            Some(Ok(value @ Value::Object(_))) => {
                best = Some((value, &text[..i]));
                from = i + values.byte_offset();
            }
            _ => from = i + 1,
        }
    }
    best
}

/// The answer on the last line that has one: `Answer: B`, `Choice: (B)`, `**B**`, `B.`, or
/// the label alone; one of `labels` (compared without case when no two labels differ only
/// in case). With the text before that line (the reasoning). `None` when the last
/// non-empty line names no label, or names two different ones.
pub(crate) fn label_on_last_line<'t>(
    text: &'t str,
    labels: &[String],
) -> Option<(String, &'t str)> {
    let line_start = last_line_start(text)?;
    let line = &text[line_start..];
    let fold = !labels_differ_only_in_case(labels);
    let same = |a: &str, b: &str| {
        if fold {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let words = words_of(line);
    const KEYS: [&str; 7] = [
        "answer", "choice", "verdict", "option", "grade", "label", "final",
    ];
    // `Answer: X` and its kin (`the final answer is X`): a label within two words after
    // the last keyword decides, unless another label follows it.
    let label_at = |i: usize| labels.iter().find(|l| same(l, words[i]));
    if let Some(key) = words
        .iter()
        .rposition(|w| KEYS.iter().any(|k| w.eq_ignore_ascii_case(k)))
        && let Some(at) = (key + 1..words.len().min(key + 3)).find(|i| label_at(*i).is_some())
    {
        let label = label_at(at).expect("found");
        let other = (at + 1..words.len()).any(|i| label_at(i).is_some_and(|l| l != label));
        return (!other).then(|| (label.clone(), text[..line_start].trim_end()));
    }
    let mut found: Option<&String> = None;
    for word in &words {
        if let Some(label) = labels.iter().find(|l| same(l, word)) {
            match found {
                Some(seen) if seen != label => return None,
                _ => found = Some(label),
            }
        }
    }
    // A label alone counts only on a short line: a sentence that happens to contain `A`
    // is not an answer.
    if words.len() > 4 {
        return None;
    }
    found.map(|label| (label.clone(), text[..line_start].trim_end()))
}

/// The number on the last line that has one (`Score: 4`, `4/5`, `[[4]]`, `Rating: 3.5`):
/// the first number after a keyword, else the line's only number. With the reasoning.
pub(crate) fn number_on_last_line(text: &str) -> Option<(f64, &str)> {
    let line_start = last_line_start(text)?;
    let line = &text[line_start..];
    let words = words_of(line);
    const KEYS: [&str; 5] = ["score", "rating", "grade", "answer", "final"];
    let numbers: Vec<(usize, f64)> = words
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            w.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|n| (i, n))
        })
        .collect();
    let keyed = words.iter().enumerate().rev().find_map(|(i, w)| {
        KEYS.iter()
            .any(|k| w.eq_ignore_ascii_case(k))
            .then(|| numbers.iter().find(|(j, _)| *j > i).map(|(_, n)| *n))
            .flatten()
    });
    let number = match keyed {
        Some(n) => n,
        // `4/5` and `4 out of 5` are one number on a scale.
        None => match numbers.as_slice() {
            [(_, n)] => *n,
            [(i, n), (j, _)] if *j == i + 1 || (*j == i + 3 && words[i + 1] == "out") => *n,
            _ => return None,
        },
    };
    Some((number, text[..line_start].trim_end()))
}

/// `pass` or `fail` (or yes / no, true / false) on the last line: with the reasoning.
pub(crate) fn pass_on_last_line(text: &str) -> Option<(bool, &str)> {
    let line_start = last_line_start(text)?;
    let words = words_of(&text[line_start..]);
    let mut found = None;
    for word in &words {
        let verdict = match word.to_ascii_lowercase().as_str() {
            "pass" | "passed" | "passes" | "yes" | "true" => Some(true),
            "fail" | "failed" | "fails" | "no" | "false" => Some(false),
            _ => None,
        };
        match (found, verdict) {
            (Some(a), Some(b)) if a != b => return None,
            (_, Some(b)) => found = Some(b),
            _ => {}
        }
    }
    if words.len() > 6 {
        return None;
    }
    found.map(|pass| (pass, text[..line_start].trim_end()))
}

/// Where the last non-empty line starts.
fn last_line_start(text: &str) -> Option<usize> {
    let end = text.trim_end().len();
    if end == 0 {
        return None;
    }
    Some(text[..end].rfind('\n').map_or(0, |i| i + 1))
}

/// The words of a line, markdown and punctuation around them removed (`**(B).**` is `B`);
/// `4/5` splits in two and `[[4]]` is `4`.
fn words_of(line: &str) -> Vec<&str> {
    line.split(|c: char| c.is_whitespace() || c == '/' || c == ':' || c == '=' || c == ',')
        .map(|w| {
            w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_'))
                .trim_end_matches('.')
        })
        .filter(|w| !w.is_empty())
        .collect()
}

fn labels_differ_only_in_case(labels: &[String]) -> bool {
    labels.iter().enumerate().any(|(i, a)| {
        labels[i + 1..]
            .iter()
            .any(|b| a != b && a.eq_ignore_ascii_case(b))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn json_is_found_whole_fenced_or_trailing() {
        assert_eq!(json_object(r#" {"a": 1} "#).unwrap().0, json!({"a": 1}));
        let fenced = "Let me think.\n```json\n{\"choice\": \"B\"}\n```\nDone.";
        let (value, before) = json_object(fenced).unwrap();
        assert_eq!((value, before), (json!({"choice": "B"}), "Let me think.\n"));
        let trailing = "The answer {is} clear: {\"choice\": \"C\", \"why\": \"a } in text\"}";
        assert_eq!(json_object(trailing).unwrap().0["choice"], "C");
        assert_eq!(json_object("no json at all").map(|v| v.0), None);
        assert_eq!(json_object("[1, 2]").map(|v| v.0), None);
        // The last of several fenced blocks wins.
        let two = "```\n{\"a\": 1}\n```\nthen\n```json\n{\"a\": 2}\n```";
        assert_eq!(json_object(two).unwrap().0, json!({"a": 2}));
    }

    #[test]
    fn a_label_is_read_from_the_last_line_only() {
        let l = labels(&["A", "B", "C"]);
        for (text, want) in [
            ("Reasoning here.\nAnswer: B", Some("B")),
            ("Reasoning.\n\n**(C)**\n", Some("C")),
            ("b", Some("B")),
            ("Because A is wrong.\nChoice: A.", Some("A")),
            ("The final answer is: C", Some("C")),
            ("A or B", None),
            ("Answer: A or B", None),
            ("I cannot decide", None),
            ("It is A because of the long explanation here", None),
            ("", None),
        ] {
            assert_eq!(
                label_on_last_line(text, &l).map(|(l, _)| l),
                want.map(str::to_owned),
                "{text:?}"
            );
        }
        let (label, reasoning) = label_on_last_line("Step 1.\nStep 2.\nAnswer: A", &l).unwrap();
        assert_eq!((label.as_str(), reasoning), ("A", "Step 1.\nStep 2."));
        // Labels that differ only in case are compared exactly.
        let cased = labels(&["a", "A"]);
        assert_eq!(label_on_last_line("Answer: A", &cased).unwrap().0, "A");
        let words = labels(&["factual", "hallucinated"]);
        assert_eq!(
            label_on_last_line("Verdict: Factual", &words).unwrap().0,
            "factual"
        );
    }

    #[test]
    fn numbers_and_pass_fail_are_read_from_the_last_line() {
        for (text, want) in [
            ("Good.\nScore: 4", Some(4.0)),
            ("4/5", Some(4.0)),
            ("[[7]]", Some(7.0)),
            ("Rating: 3.5 out of 5", Some(3.5)),
            ("3 out of 5", Some(3.0)),
            ("between 2 and 4", None),
            ("no number", None),
        ] {
            assert_eq!(number_on_last_line(text).map(|n| n.0), want, "{text:?}");
        }
        assert_eq!(
            pass_on_last_line("Looks right.\nPASS").unwrap(),
            (true, "Looks right.")
        );
        assert!(!pass_on_last_line("Verdict: fail").unwrap().0);
        assert_eq!(pass_on_last_line("yes and no"), None);
        assert_eq!(pass_on_last_line("maybe"), None);
    }
}
